// workerpool: 8 workers read jobs (integers) from a cap-100 jobs channel
// and send job*2 on a cap-100 results channel; a feeder goroutine sends N
// jobs, main collects N results. Prints "workerpool: X ns/job".
// Usage: workerpool [N]   (default 1e6)
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	n := 1000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	jobs := make(chan int, 100)
	results := make(chan int, 100)
	start := time.Now()
	for w := 0; w < 8; w++ {
		go func() {
			for j := range jobs {
				results <- j * 2
			}
		}()
	}
	go func() {
		for i := 1; i <= n; i++ {
			jobs <- i
		}
		close(jobs)
	}()
	sum := 0
	for i := 0; i < n; i++ {
		sum += <-results
	}
	el := time.Since(start)
	if sum != n*(n+1) {
		fmt.Println("workerpool: failed (bad sum)")
		os.Exit(1)
	}
	fmt.Printf("workerpool: %.1f ns/job\n", float64(el.Nanoseconds())/float64(n))
}

// buffered: one-way throughput of integers through a cap-1024 channel,
// one sender goroutine, one receiver (main). Prints "buffered: X Mmsg/s".
// Usage: buffered [N]   (N messages, default 1e7)
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	n := 10000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	ch := make(chan int, 1024)
	start := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			ch <- i
		}
		close(ch)
	}()
	sum := 0
	for v := range ch {
		sum += v
	}
	el := time.Since(start)
	if sum != n*(n-1)/2 {
		fmt.Println("buffered: failed (bad sum)")
		os.Exit(1)
	}
	fmt.Printf("buffered: %.2f Mmsg/s\n", float64(n)/el.Seconds()/1e6)
}

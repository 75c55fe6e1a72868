// spawn: cost of starting and finishing a goroutine. N goroutines, each
// calls wg.Done() and returns; main waits for all. Prints
// "spawn: X us/goroutine" (total time / N).
// Usage: spawn [N]   (default 100,000)
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	n := 100000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func(x int) {
			_ = x
			wg.Done()
		}(i)
	}
	wg.Wait()
	el := time.Since(start)
	fmt.Printf("spawn: %.3f us/goroutine\n", float64(el.Nanoseconds())/1e3/float64(n))
}

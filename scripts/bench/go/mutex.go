// mutex: a contended sync.Mutex. 8 goroutines each lock and unlock it
// N/8 times, incrementing a shared counter inside. Prints
// "mutex: X ns/op" (total time / N lock-unlock pairs), then
// "mutex_uncontended: X ns/op": a lock/unlock pair on one goroutine.
// Usage: mutex [N]   (default 1e6)
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	n := 1000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	const g = 8
	per := n / g
	n = per * g
	var mu sync.Mutex
	var wg sync.WaitGroup
	count := 0
	start := time.Now()
	wg.Add(g)
	for i := 0; i < g; i++ {
		go func() {
			for j := 0; j < per; j++ {
				mu.Lock()
				count++
				mu.Unlock()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if count != n {
		fmt.Println("mutex: failed (bad count)")
		os.Exit(1)
	}
	fmt.Printf("mutex: %.1f ns/op\n", float64(el.Nanoseconds())/float64(n))

	const m = 2000000
	var solo sync.Mutex
	start = time.Now()
	for j := 0; j < m; j++ {
		solo.Lock()
		solo.Unlock()
	}
	el = time.Since(start)
	fmt.Printf("mutex_uncontended: %.1f ns/op\n", float64(el.Nanoseconds())/float64(m))
}

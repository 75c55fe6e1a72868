// tight_loop: the same tight integer loop as scripts/bench/tight_loop.lua,
// run in a goroutine, as a reference for the preemption-hook figure (Go
// preempts asynchronously with signals, so its loop carries no hook).
// Prints "tight_loop: X ns/iter".
// Usage: tight_loop [N]   (default 1e9)
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	n := 1000000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	out := make(chan int)
	start := time.Now()
	go func() {
		s := 0
		for i := 1; i <= n; i++ {
			s += i & 7
		}
		out <- s
	}()
	s := <-out
	el := time.Since(start)
	if s == -1 {
		fmt.Fprintln(os.Stderr, "unlikely")
	}
	fmt.Printf("tight_loop: %.3f ns/iter\n", float64(el.Nanoseconds())/float64(n))
}

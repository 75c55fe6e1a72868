// tight_loop: the same tight integer loop as scripts/bench/tight_loop.lua,
// run in a goroutine, as a reference for the preemption-hook figure (Go
// preempts asynchronously with signals, so its loop carries no hook).
// The figure is the best of 3 rounds, like the Lua side.
// Prints "tight_loop: X ns/iter".
// Usage: tight_loop [N]   (N iterations a round, default 5e8)
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	n := 500000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	out := make(chan time.Duration)
	go func() {
		best := time.Duration(1 << 62)
		for r := 0; r < 3; r++ {
			start := time.Now()
			s := 0
			for i := 1; i <= n; i++ {
				s += i & 7
			}
			el := time.Since(start)
			if s < 0 {
				fmt.Fprintln(os.Stderr, "unreachable")
			}
			if el < best {
				best = el
			}
		}
		out <- best
	}()
	el := <-out
	fmt.Printf("tight_loop: %.3f ns/iter\n", float64(el.Nanoseconds())/float64(n))
}

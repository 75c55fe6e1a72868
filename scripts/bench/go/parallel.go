// parallel: parallel efficiency of CPU-bound work. W = an LCG loop of
// ITER steps. T1 = time for one goroutine to do W; T2 = time for two
// goroutines to do W each (2W in all) at the same time.
// efficiency = T1 / T2 (1.0 = perfect scaling on 2 cores, 0.5 = none).
// T1 and T2 are each the best of 3 alternated rounds, so a moment of load
// from elsewhere on the machine does not decide the figure.
// Prints "parallel_efficiency: X".
// Usage: parallel [ITER]   (default 100,000,000)
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func lcg(iter int, seed uint64) uint64 {
	x := seed
	for i := 0; i < iter; i++ {
		x = (x*1103515245 + 12345) % 2147483648
	}
	return x
}

func run(k, iter int) time.Duration {
	out := make(chan uint64, k)
	start := time.Now()
	for g := 0; g < k; g++ {
		go func(s uint64) { out <- lcg(iter, s) }(uint64(g + 1))
	}
	var sink uint64
	for g := 0; g < k; g++ {
		sink += <-out
	}
	el := time.Since(start)
	if sink == 42 {
		fmt.Fprintln(os.Stderr, "unlikely")
	}
	return el
}

func main() {
	iter := 100000000
	if len(os.Args) > 1 {
		iter, _ = strconv.Atoi(os.Args[1])
	}
	t1, t2 := time.Duration(1<<62), time.Duration(1<<62)
	for r := 0; r < 3; r++ {
		if d := run(1, iter); d < t1 {
			t1 = d
		}
		if d := run(2, iter); d < t2 {
			t2 = d
		}
	}
	fmt.Printf("parallel_efficiency: %.3f\n", t1.Seconds()/t2.Seconds())
}

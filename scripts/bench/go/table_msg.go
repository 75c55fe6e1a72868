// table_msg: throughput of 1,000-number messages through a cap-64 channel.
// chanlab deep-copies a Lua table of 1,000 numbers on every send; to pay a
// comparable price here the sender allocates a FRESH []int of 1,000 per
// message and copies the template into it, then sends the slice. The
// receiver reads the last element. Prints "table_msg: X msg/s".
// Usage: table_msg [N]   (N messages, default 200,000)
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	n := 200000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	tmpl := make([]int, 1000)
	for i := range tmpl {
		tmpl[i] = i + 1
	}
	ch := make(chan []int, 64)
	start := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			m := make([]int, 1000)
			copy(m, tmpl)
			ch <- m
		}
		close(ch)
	}()
	sum := 0
	for m := range ch {
		sum += m[999]
	}
	el := time.Since(start)
	if sum != n*1000 {
		fmt.Println("table_msg: failed (bad sum)")
		os.Exit(1)
	}
	fmt.Printf("table_msg: %.0f msg/s\n", float64(n)/el.Seconds())
}

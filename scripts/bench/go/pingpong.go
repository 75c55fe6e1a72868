// pingpong: unbuffered ping-pong between two goroutines.
// One round trip = main sends on ping, the partner receives it and sends
// it back on pong, main receives. Prints "pingpong: X ns/roundtrip".
// Usage: pingpong [N]   (N round trips, default 1e6)
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
	ping := make(chan int)
	pong := make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	// Warm up so the partner goroutine is running before the clock starts.
	ping <- 0
	<-pong
	start := time.Now()
	for i := 0; i < n; i++ {
		ping <- i
		<-pong
	}
	el := time.Since(start)
	close(ping)
	fmt.Printf("pingpong: %.1f ns/roundtrip\n", float64(el.Nanoseconds())/float64(n))
}

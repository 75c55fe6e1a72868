// select4: select over 4 receive cases. Four producers each send N/4
// integers on their own cap-64 channel; main runs N selects, each
// receiving from whichever channel is ready. Prints "select4: X ns/op".
// Usage: select4 [N]   (default 1e6)
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
	per := n / 4
	n = per * 4
	var cs [4]chan int
	for i := range cs {
		cs[i] = make(chan int, 64)
	}
	start := time.Now()
	for i := range cs {
		go func(c chan int) {
			for j := 0; j < per; j++ {
				c <- 1
			}
		}(cs[i])
	}
	sum := 0
	for i := 0; i < n; i++ {
		select {
		case v := <-cs[0]:
			sum += v
		case v := <-cs[1]:
			sum += v
		case v := <-cs[2]:
			sum += v
		case v := <-cs[3]:
			sum += v
		}
	}
	el := time.Since(start)
	if sum != n {
		fmt.Println("select4: failed (bad sum)")
		os.Exit(1)
	}
	fmt.Printf("select4: %.1f ns/op\n", float64(el.Nanoseconds())/float64(n))
}

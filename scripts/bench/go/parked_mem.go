// parked_mem: resident memory per parked goroutine. Reads VmRSS from
// /proc/self/status, starts N goroutines that each signal "started" and
// then block receiving on one shared channel, waits until all have
// started, reads VmRSS again: (after - before) / N. Prints
// "parked_mem: X KB/goroutine"; with N = 1,000,000 it also prints
// "parked_1m: ok" and "parked_1m_mem: X KB/goroutine".
// Usage: parked_mem [N]   (default 100,000)
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

func vmrssKB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, "VmRSS:") {
			fs := strings.Fields(line)
			v, _ := strconv.ParseFloat(fs[1], 64)
			return v
		}
	}
	return -1
}

func main() {
	n := 100000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	runtime.GC()
	before := vmrssKB()
	block := make(chan struct{})
	var started sync.WaitGroup
	started.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			started.Done()
			<-block
		}()
	}
	started.Wait()
	after := vmrssKB()
	per := (after - before) / float64(n)
	if n >= 1000000 {
		fmt.Printf("parked_1m: ok\n")
		fmt.Printf("parked_1m_mem: %.2f KB/goroutine\n", per)
	} else {
		fmt.Printf("parked_mem: %.2f KB/goroutine\n", per)
	}
	close(block)
}

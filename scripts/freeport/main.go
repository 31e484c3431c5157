// Command freeport prints N distinct free TCP ports on 127.0.0.1, one a line, for scripts that
// start a service on a port no other test or service uses. scripts/influxd.sh falls back to it
// where python3 is missing.
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
)

func main() {
	n := 1
	if len(os.Args) > 1 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil || v < 1 {
			fmt.Fprintf(os.Stderr, "usage: freeport [N]: N must be a positive number, not %q\n", os.Args[1])
			os.Exit(2)
		}
		n = v
	}
	// Hold every listener until all are picked, so the ports differ.
	ls := make([]net.Listener, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintf(os.Stderr, "freeport: %v\n", err)
			os.Exit(1)
		}
		ls = append(ls, l)
	}
	for _, l := range ls {
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
		l.Close()
	}
}

// Command kong-standin runs the Kong 3.9 stand-in in place of the kong image:
// it reads the KONG_* environment like Kong, serves the configured listeners,
// and on SIGTERM/SIGINT/SIGQUIT stops accepting and drains briefly.
// `kong-standin quit` is `kong quit`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/drawbridge-dev/drawbridge/test/kongstandin"
)

// drainTimeout bounds how long in-flight requests may finish after a signal.
const drainTimeout = 10 * time.Second

func main() {
	// The kong image has `kong` on its PATH; the lab maps `kong quit` (the
	// data plane's preStop hook) to this binary too.
	if len(os.Args) > 1 && os.Args[1] == "quit" {
		if err := kongstandin.Quit(os.Args[2:], func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }); err != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "kong-standin: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	srv, err := kongstandin.Run(os.Environ())
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "kong-standin %s started (proxy %v, stream %v, admin %v, status %v)\n",
		kongstandin.KongVersion, srv.ProxyAddrs(), srv.StreamAddrs(), srv.AdminAddrs(), srv.StatusAddrs())
	if err := kongstandin.WritePid(srv.Prefix()); err != nil {
		// Only `kong quit` needs it; a read-only prefix must not stop Kong.
		fmt.Fprintf(os.Stderr, "kong-standin: %v (kong quit will not find this node)\n", err)
	}
	sig := make(chan os.Signal, 1)
	// SIGQUIT is nginx's graceful stop, which `kong quit` sends.
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "kong-standin: shutdown: %v\n", err)
	}
	return nil
}

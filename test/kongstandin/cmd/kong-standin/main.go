// Command kong-standin runs the Kong 3.9 stand-in in place of the kong image:
// it reads the KONG_* environment like Kong, serves the configured listeners,
// and on SIGTERM/SIGINT stops accepting and drains briefly (kong quit).
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
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "kong-standin: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := kongstandin.ConfigFromEnv(os.Environ())
	if err != nil {
		return err
	}
	srv, err := kongstandin.New(cfg)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "kong-standin %s started (proxy %v, stream %v, admin %v, status %v)\n",
		kongstandin.KongVersion, srv.ProxyAddrs(), srv.StreamAddrs(), srv.AdminAddrs(), srv.StatusAddrs())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "kong-standin: shutdown: %v\n", err)
	}
	return nil
}

// Command dns-standin runs the lab's CoreDNS stand-in: `dns-standin -conf
// /root/Corefile`, the arguments the CoreDNS image is started with.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/drawbridge-dev/drawbridge/test/dnsstandin"
)

func main() {
	conf := flag.String("conf", "Corefile", "the Corefile to serve")
	flag.Parse()
	f, err := os.Open(*conf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dns-standin:", err)
		os.Exit(1)
	}
	blocks, err := dnsstandin.ParseCorefile(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dns-standin:", err)
		os.Exit(1)
	}
	srv := dnsstandin.New(blocks, os.Stdout)
	if err := srv.Start(""); err != nil {
		fmt.Fprintln(os.Stderr, "dns-standin:", err)
		os.Exit(1)
	}
	fmt.Println("dns-standin: serving", *conf)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shut)
}

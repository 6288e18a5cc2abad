package netns

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestSocketsLiveInTheNamespace needs root: it creates a namespace, listens
// on its loopback, and shows the host's loopback is a different one.
func TestSocketsLiveInTheNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		// `make test` runs as root (the lab needs it), so CI always runs this.
		if os.Getenv("LAB_BIN_DIR") != "" {
			t.Fatal("needs root to create network namespaces; run `make test` as root")
		}
		t.Skip("needs root to create network namespaces")
	}
	ctx := context.Background()
	name := fmt.Sprintf("dbtest-%d", os.Getpid())
	ns, err := Create(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := Delete(ctx, name); err != nil {
			t.Error(err)
		}
		if left, _ := List(name); len(left) != 0 {
			t.Errorf("namespace %s left after Delete", name)
		}
	}()
	ln, err := ns.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, _ = c.Write([]byte("inside"))
			c.Close()
		}
	}()
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := ns.DialContext(dctx, "tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(c)
	c.Close()
	if string(got) != "inside" {
		t.Fatalf("read %q", got)
	}
	// The same address from the host namespace is not this listener.
	if c, err := net.DialTimeout("tcp4", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Fatalf("dialing %s from the host reached the namespace's listener", ln.Addr())
	}
}

// Package netns creates the lab's network namespaces and runs socket
// operations inside them. The lab never adds addresses or routes to the host
// namespace: every lab address lives in a namespace made here, and the host
// process only reaches them through sockets created inside those namespaces.
package netns

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Dir is where iproute2 keeps named network namespaces.
const Dir = "/run/netns"

// IP is the iproute2 binary the lab drives.
const IP = "/usr/sbin/ip"

// NFT is the nftables binary the lab drives (NetworkPolicy enforcement).
const NFT = "/usr/sbin/nft"

// NS is a named network namespace.
type NS struct {
	Name string
}

// Path is the bind-mounted namespace file.
func (n NS) Path() string { return filepath.Join(Dir, n.Name) }

// Create adds a named network namespace with its loopback up. An existing
// namespace of that name is deleted first, so a lab that crashed does not
// leave state that a new one inherits.
func Create(ctx context.Context, name string) (NS, error) {
	if _, err := os.Stat(filepath.Join(Dir, name)); err == nil {
		if err := Delete(ctx, name); err != nil {
			return NS{}, err
		}
	}
	if err := Run(ctx, "netns", "add", name); err != nil {
		return NS{}, err
	}
	ns := NS{Name: name}
	if err := ns.IP(ctx, "link", "set", "lo", "up"); err != nil {
		return NS{}, err
	}
	return ns, nil
}

// Delete removes a named network namespace; a missing one is not an error.
// Interfaces inside it (veth ends, bridges) go with it.
func Delete(ctx context.Context, name string) error {
	if _, err := os.Stat(filepath.Join(Dir, name)); os.IsNotExist(err) {
		return nil
	}
	return Run(ctx, "netns", "delete", name)
}

// List returns the named namespaces whose name starts with prefix.
func List(prefix string) ([]string, error) {
	entries, err := os.ReadDir(Dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list network namespaces: %w", err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// IP runs `ip -n <ns> args...`, i.e. an iproute2 command inside the namespace.
func (n NS) IP(ctx context.Context, args ...string) error {
	return Run(ctx, append([]string{"-n", n.Name}, args...)...)
}

// Nft loads an nft script (`nft -f -`) inside the namespace; nft applies a
// script as one transaction, all or nothing.
func (n NS) Nft(ctx context.Context, script string) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "nsenter", "--net="+n.Path(), NFT, "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("nft -f - in %s: %w: %s", n.Name, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Run runs iproute2 with args and returns its output in the error.
func Run(ctx context.Context, args ...string) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, IP, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Do runs fn on an OS thread that has entered the namespace. Sockets created
// by fn belong to the namespace for their whole life and may be used from any
// goroutine afterwards. fn must not start goroutines that create sockets.
func (n NS) Do(fn func() error) error {
	target, err := unix.Open(n.Path(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", n.Name, err)
	}
	defer unix.Close(target)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread's own namespace, to return to when fn is done.
		self, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open own network namespace: %w", err)
			return
		}
		defer unix.Close(self)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter network namespace %s: %w", n.Name, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
			// The thread stays locked and is destroyed when this goroutine
			// ends, so no other goroutine ever runs in the wrong namespace.
			errc <- fmt.Errorf("leave network namespace %s: %w (%v)", n.Name, err, ferr)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Listen opens a listener inside the namespace.
func (n NS) Listen(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := n.Do(func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// ListenPacket opens a packet socket inside the namespace.
func (n NS) ListenPacket(network, addr string) (net.PacketConn, error) {
	var c net.PacketConn
	err := n.Do(func() error {
		var err error
		c, err = net.ListenPacket(network, addr)
		return err
	})
	return c, err
}

// Dialer dials from inside the namespace; its DialContext fits
// http.Transport and friends. Addresses must be IP literals: a name lookup
// would run on other threads, outside the namespace.
func (n NS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.Do(func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

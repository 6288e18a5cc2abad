package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// udpIdle is how long a UDP flow lives without packets.
const udpIdle = 60 * time.Second

// dialAttempts bounds how many endpoints one TCP connection tries.
const dialAttempts = 3

// frontend is one listening address of a Service inside the node namespace.
type frontend struct {
	p      *Proxy
	key    frontendKey
	mu     sync.Mutex
	target target
	ln     net.Listener
	pc     net.PacketConn
	cancel context.CancelFunc
}

func (f *frontend) setTarget(t target) {
	f.mu.Lock()
	f.target = t
	f.mu.Unlock()
}

func (f *frontend) currentTarget() target {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.target
}

func (f *frontend) close() {
	f.cancel()
	if f.ln != nil {
		_ = f.ln.Close()
	}
	if f.pc != nil {
		_ = f.pc.Close()
	}
}

func (p *Proxy) listen(k frontendKey, t target) (*frontend, error) {
	ctx, cancel := context.WithCancel(p.ctx)
	f := &frontend{p: p, key: k, target: t, cancel: cancel}
	addr := net.JoinHostPort(k.ip, strconv.Itoa(int(k.port)))
	var err error
	if k.proto == corev1.ProtocolUDP {
		f.pc, err = p.opts.NodeNS.ListenPacket("udp4", addr)
		if err != nil {
			cancel()
			return nil, err
		}
		go serveUDP(ctx, f.pc, func(ctx context.Context) (net.Conn, error) {
			backend, viaHost, err := p.pick(f.currentTarget(), corev1.ProtocolUDP)
			if err != nil {
				return nil, err
			}
			return p.dialBackend(ctx, "udp4", backend, viaHost)
		})
		return f, nil
	}
	f.ln, err = p.opts.NodeNS.Listen("tcp4", addr)
	if err != nil {
		cancel()
		return nil, err
	}
	go serveTCP(ctx, f.ln, func(ctx context.Context) (net.Conn, error) {
		// A refused connection moves on to the next endpoint: an endpoint
		// that just stopped may still be listed until its slice updates.
		var lastErr error
		for range dialAttempts {
			backend, viaHost, err := p.pick(f.currentTarget(), corev1.ProtocolTCP)
			if err != nil {
				return nil, err
			}
			conn, err := p.dialBackend(ctx, "tcp4", backend, viaHost)
			if err == nil {
				return conn, nil
			}
			lastErr = err
		}
		return nil, lastErr
	}, p.opts.Log)
	return f, nil
}

// serveTCP accepts connections and splices each to a fresh backend
// connection. A connection without a backend is closed, like a reset from
// a Service without endpoints.
func serveTCP(ctx context.Context, ln net.Listener, dial func(context.Context) (net.Conn, error), log func(string, ...any)) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		go func() {
			defer conn.Close()
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			backend, err := dial(dctx)
			cancel()
			if err != nil {
				return
			}
			defer backend.Close()
			splice(conn, backend)
		}()
	}
}

// splice copies both ways, passing half-closes on, until both ends finish.
func splice(a, b net.Conn) {
	var wg sync.WaitGroup
	cp := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			_ = dst.Close()
		}
	}
	wg.Add(2)
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
}

// serveUDP relays datagrams: one backend socket per client address, which
// carries the replies back, closed after udpIdle without traffic.
func serveUDP(ctx context.Context, pc net.PacketConn, dial func(context.Context) (net.Conn, error)) {
	type flow struct {
		conn net.Conn
		last time.Time
	}
	var mu sync.Mutex
	flows := map[string]*flow{}
	go func() {
		t := time.NewTicker(udpIdle / 4)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				mu.Lock()
				for _, f := range flows {
					_ = f.conn.Close()
				}
				mu.Unlock()
				return
			case <-t.C:
			}
			mu.Lock()
			for k, f := range flows {
				if time.Since(f.last) > udpIdle {
					_ = f.conn.Close()
					delete(flows, k)
				}
			}
			mu.Unlock()
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, client, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		mu.Lock()
		f := flows[client.String()]
		mu.Unlock()
		if f == nil {
			dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			conn, err := dial(dctx)
			cancel()
			if err != nil {
				continue
			}
			f = &flow{conn: conn, last: time.Now()}
			mu.Lock()
			flows[client.String()] = f
			mu.Unlock()
			go func(client net.Addr, f *flow) {
				reply := make([]byte, 64<<10)
				for {
					n, err := f.conn.Read(reply)
					if err != nil {
						return
					}
					mu.Lock()
					f.last = time.Now()
					mu.Unlock()
					_, _ = pc.WriteTo(reply[:n], client)
				}
			}(client, f)
		}
		mu.Lock()
		f.last = time.Now()
		mu.Unlock()
		_, _ = f.conn.Write(buf[:n])
	}
}

// hostForward listens on 127.0.0.1 of the host and reaches a LoadBalancer
// address inside the node namespace.
type hostForward struct {
	info   Forward
	ln     net.Listener
	pc     net.PacketConn
	cancel context.CancelFunc
}

func (h *hostForward) close() {
	h.cancel()
	if h.ln != nil {
		_ = h.ln.Close()
	}
	if h.pc != nil {
		_ = h.pc.Close()
	}
}

func (p *Proxy) openForward(k frontendKey, info Forward) (*hostForward, error) {
	ctx, cancel := context.WithCancel(p.ctx)
	h := &hostForward{info: info, cancel: cancel}
	lbAddr := net.JoinHostPort(k.ip, strconv.Itoa(int(k.port)))
	dial := func(ctx context.Context) (net.Conn, error) {
		network := "tcp4"
		if k.proto == corev1.ProtocolUDP {
			network = "udp4"
		}
		return p.opts.NodeNS.DialContext(ctx, network, lbAddr)
	}
	ports := []int{0}
	if info.hostPortHint != 0 {
		ports = []int{int(info.hostPortHint), 0}
	}
	var err error
	for _, port := range ports {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if k.proto == corev1.ProtocolUDP {
			if h.pc, err = net.ListenPacket("udp4", addr); err == nil {
				h.info.HostAddr = h.pc.LocalAddr().String()
				go serveUDP(ctx, h.pc, dial)
				return h, nil
			}
			continue
		}
		if h.ln, err = net.Listen("tcp4", addr); err == nil {
			h.info.HostAddr = h.ln.Addr().String()
			go serveTCP(ctx, h.ln, dial, p.opts.Log)
			return h, nil
		}
	}
	cancel()
	return nil, fmt.Errorf("listen on 127.0.0.1: %w", err)
}

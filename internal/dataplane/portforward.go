package dataplane

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport/spdy"
)

// portForwardProtocol is the streaming subprotocol of pods/portforward.
const portForwardProtocol = "portforward.k8s.io"

// PortForwardDialer returns a Dialer that reaches each replica's admin port
// through the API server's pods/portforward subresource instead of dialing
// the pod IP, so the operator can run outside the cluster (a laptop's
// `make run-cluster`). The tunnel carries raw TCP: the TLS handshake, and
// so mutual TLS, stays end to end between the operator and Kong.
//
// The pod is the replica's Name in its Namespace; the port is the one the
// Pusher dials. The kubeconfig user needs create on pods/portforward in the
// Gateways' namespaces, a right the in-cluster operator does not get.
func PortForwardDialer(cfg *rest.Config) (Dialer, error) {
	rt, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("port-forward transport: %w", err)
	}
	base, err := url.Parse(strings.TrimSuffix(cfg.Host, "/") + "/")
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("port-forward: API server address %q is not a URL", cfg.Host)
	}
	if base.Scheme == "" {
		base.Scheme = "https"
	}
	var requestID atomic.Int64
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		rep, ok := ReplicaFromContext(ctx)
		if !ok || rep.Namespace == "" || rep.Name == "" {
			return nil, fmt.Errorf("port-forward to %s: the replica's pod is unknown", addr)
		}
		_, portStr, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("port-forward to %s: %w", addr, err)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("port-forward to %s: invalid port", addr)
		}
		u := *base
		u.Path = base.Path + fmt.Sprintf("api/v1/namespaces/%s/pods/%s/portforward", url.PathEscape(rep.Namespace), url.PathEscape(rep.Name))
		dialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, &u)
		type result struct {
			conn httpstream.Connection
			err  error
		}
		done := make(chan result, 1)
		go func() {
			conn, _, err := dialer.Dial(portForwardProtocol)
			done <- result{conn, err}
		}()
		var res result
		select {
		case res = <-done:
		case <-ctx.Done():
			go func() {
				if r := <-done; r.conn != nil {
					r.conn.Close()
				}
			}()
			return nil, fmt.Errorf("port-forward to pod %s/%s: %w", rep.Namespace, rep.Name, ctx.Err())
		}
		if res.err != nil {
			return nil, fmt.Errorf("port-forward to pod %s/%s: %w", rep.Namespace, rep.Name, res.err)
		}
		c, err := openForwardStreams(res.conn, port, strconv.FormatInt(requestID.Add(1), 10), rep)
		if err != nil {
			res.conn.Close()
			return nil, err
		}
		return c, nil
	}, nil
}

// openForwardStreams opens the error and data stream pair of one forwarded
// connection, as the pods/portforward protocol asks: the error stream first,
// then the data stream, both naming the port and a shared request ID.
func openForwardStreams(conn httpstream.Connection, port int, id string, rep Replica) (*forwardConn, error) {
	headers := http.Header{}
	headers.Set(corev1.StreamType, corev1.StreamTypeError)
	headers.Set(corev1.PortHeader, strconv.Itoa(port))
	headers.Set(corev1.PortForwardRequestIDHeader, id)
	errStream, err := conn.CreateStream(headers)
	if err != nil {
		return nil, fmt.Errorf("port-forward to pod %s/%s: error stream: %w", rep.Namespace, rep.Name, err)
	}
	// The client never writes on the error stream.
	errStream.Close()
	headers.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := conn.CreateStream(headers)
	if err != nil {
		return nil, fmt.Errorf("port-forward to pod %s/%s: data stream: %w", rep.Namespace, rep.Name, err)
	}
	c := &forwardConn{conn: conn, data: data, errDone: make(chan struct{}),
		remote: forwardAddr(fmt.Sprintf("pod/%s/%s:%d", rep.Namespace, rep.Name, port))}
	go c.watchErrors(errStream)
	return c, nil
}

// forwardConn is one forwarded TCP connection as a net.Conn.
type forwardConn struct {
	conn   httpstream.Connection
	data   httpstream.Stream
	remote net.Addr
	// errDone is closed once the error stream was read to its end.
	errDone chan struct{}

	mu       sync.Mutex
	remoteEr error // what the kubelet reported on the error stream
	closed   bool
	rTimer   *time.Timer
	wTimer   *time.Timer
	expired  atomic.Bool
}

// watchErrors reads the error stream: anything on it is the kubelet's
// account of why the forward failed (for example nothing listening on the
// port), and ends the connection.
func (c *forwardConn) watchErrors(s httpstream.Stream) {
	msg, _ := io.ReadAll(s)
	if len(msg) > 0 {
		c.mu.Lock()
		c.remoteEr = fmt.Errorf("port-forward to %s: %s", c.remote, strings.TrimSpace(string(msg)))
		c.mu.Unlock()
	}
	close(c.errDone)
	if len(msg) > 0 {
		c.Close()
	}
}

// errorWait bounds how long a failed read waits for the error stream, which
// the kubelet closes right after writing its reason.
const errorWait = 2 * time.Second

func (c *forwardConn) wrap(err error) error {
	if err == nil {
		return nil
	}
	if c.expired.Load() {
		return os.ErrDeadlineExceeded
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.remoteEr != nil {
		return c.remoteEr
	}
	return err
}

func (c *forwardConn) Read(p []byte) (int, error) {
	n, err := c.data.Read(p)
	if err != nil {
		// The data stream may end before the reason arrives on the error
		// stream; the reason is the more useful error.
		select {
		case <-c.errDone:
		case <-time.After(errorWait):
		}
	}
	return n, c.wrap(err)
}

func (c *forwardConn) Write(p []byte) (int, error) {
	n, err := c.data.Write(p)
	return n, c.wrap(err)
}

// Close ends the forwarded connection and its SPDY session.
func (c *forwardConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	for _, t := range []*time.Timer{c.rTimer, c.wTimer} {
		if t != nil {
			t.Stop()
		}
	}
	c.mu.Unlock()
	c.data.Reset()
	return c.conn.Close()
}

func (c *forwardConn) LocalAddr() net.Addr  { return forwardAddr("port-forward") }
func (c *forwardConn) RemoteAddr() net.Addr { return c.remote }

// Deadlines cannot interrupt a single stream read, so an expired deadline
// closes the connection, which is what callers (TLS, net/http) do next anyway.
func (c *forwardConn) SetDeadline(t time.Time) error {
	c.setTimer(&c.rTimer, t)
	c.setTimer(&c.wTimer, t)
	return nil
}
func (c *forwardConn) SetReadDeadline(t time.Time) error  { c.setTimer(&c.rTimer, t); return nil }
func (c *forwardConn) SetWriteDeadline(t time.Time) error { c.setTimer(&c.wTimer, t); return nil }

func (c *forwardConn) setTimer(slot **time.Timer, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if *slot != nil {
		(*slot).Stop()
		*slot = nil
	}
	if t.IsZero() || c.closed {
		return
	}
	*slot = time.AfterFunc(time.Until(t), func() {
		c.expired.Store(true)
		c.Close()
	})
}

// forwardAddr names the ends of a forwarded connection.
type forwardAddr string

func (a forwardAddr) Network() string { return "portforward" }
func (a forwardAddr) String() string  { return string(a) }

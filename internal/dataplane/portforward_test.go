package dataplane

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/spdy"
	"k8s.io/client-go/rest"
)

// fakePortForward plays the API server and kubelet side of
// pods/portforward: it upgrades to SPDY, pairs each error and data stream
// by request ID and connects the data stream to the pod's port, which here
// is a loopback address per pod name. A pod port with nothing behind it
// gets the kubelet's complaint on the error stream.
type fakePortForward struct {
	pods map[string]string // "ns/name" -> loopback host

	mu       sync.Mutex
	requests []string // URL paths asked for
}

func (f *fakePortForward) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.Path)
	f.mu.Unlock()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// api/v1/namespaces/<ns>/pods/<name>/portforward
	if len(parts) != 7 || parts[6] != "portforward" || r.Method != http.MethodPost {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	host, ok := f.pods[parts[3]+"/"+parts[5]]
	if !ok {
		http.Error(w, "pods not found", http.StatusNotFound)
		return
	}
	if _, err := httpstream.Handshake(r, w, []string{portForwardProtocol}); err != nil {
		return
	}
	type pair struct{ errStream, data httpstream.Stream }
	var mu sync.Mutex
	pairs := map[string]*pair{}
	streams := make(chan *pair, 4)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(s httpstream.Stream, _ <-chan struct{}) error {
		id := s.Headers().Get(corev1.PortForwardRequestIDHeader)
		mu.Lock()
		defer mu.Unlock()
		p := pairs[id]
		if p == nil {
			p = &pair{}
			pairs[id] = p
		}
		switch s.Headers().Get(corev1.StreamType) {
		case corev1.StreamTypeError:
			p.errStream = s
		case corev1.StreamTypeData:
			p.data = s
		}
		if p.errStream != nil && p.data != nil {
			streams <- p
		}
		return nil
	})
	if conn == nil {
		return
	}
	defer conn.Close()
	for {
		select {
		case p := <-streams:
			port := p.data.Headers().Get(corev1.PortHeader)
			go func() {
				defer p.errStream.Close()
				defer p.data.Close()
				target, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 5*time.Second)
				if err != nil {
					fmt.Fprintf(p.errStream, "error forwarding port %s to pod: %v", port, err)
					return
				}
				defer target.Close()
				go func() { _, _ = io.Copy(target, p.data) }()
				_, _ = io.Copy(p.data, target)
			}()
		case <-conn.CloseChan():
			return
		}
	}
}

func startFakeAPIServer(t *testing.T, pods map[string]string) (*rest.Config, *fakePortForward) {
	t.Helper()
	f := &fakePortForward{pods: pods}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return &rest.Config{Host: srv.URL}, f
}

// Pushing through the port-forward dialer reaches the pod by name, keeps
// mutual TLS end to end (the stand-in still verifies the operator's client
// certificate) and never dials the pod address.
func TestPortForwardDialerPushesThroughTheAPIServer(t *testing.T) {
	p := newPKI(t)
	k := p.startKong(t, "kong-0", "127.0.0.3", 0)
	admin := k.srv.AdminAddrs()[0].(*net.TCPAddr)
	cfg, fake := startFakeAPIServer(t, map[string]string{"apps/kong-0": admin.IP.String()})
	dial, err := PortForwardDialer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pusher := NewPusher(WithTLSConfig(p.client), WithDialer(dial), WithTimeout(testTimeout), WithMaxAttempts(1))
	t.Cleanup(pusher.Close)
	// 198.18.0.0/15 is never routed: a direct dial could not succeed.
	rep := Replica{Name: "kong-0", Namespace: "apps", Address: "198.18.0.7", Port: admin.Port, ServerName: serverName("kong-0")}
	res := pusher.Push(context.Background(), []Replica{rep}, validConfig("pf"))
	if !res.AllInSync() {
		t.Fatalf("push through port-forward: %v", res.Err())
	}
	if k.configHash() == zeroConfigHash {
		t.Fatal("the replica did not receive the configuration")
	}
	fake.mu.Lock()
	got := fake.requests
	fake.mu.Unlock()
	if len(got) == 0 || got[0] != "/api/v1/namespaces/apps/pods/kong-0/portforward" {
		t.Fatalf("API server requests = %v", got)
	}

	// Without the operator's client certificate the forwarded connection
	// reaches Kong, which refuses it.
	bare := NewPusher(WithDialer(dial), WithTimeout(testTimeout), WithMaxAttempts(1),
		WithTLSConfig(p.client.Clone()))
	bare.tlsConfig.Certificates, bare.tlsConfig.GetClientCertificate = nil, nil
	t.Cleanup(bare.Close)
	if res := bare.Push(context.Background(), []Replica{rep}, validConfig("bare")); res.AllInSync() {
		t.Fatal("a client without a certificate was accepted through the tunnel")
	}
}

// The kubelet's account of a failed forward (nothing listens on the port)
// reaches the caller instead of a bare EOF, and an unknown pod is an error.
func TestPortForwardDialerReportsForwardErrors(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	cfg, _ := startFakeAPIServer(t, map[string]string{"apps/kong-0": "127.0.0.1"})
	dial, err := PortForwardDialer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	rep := Replica{Name: "kong-0", Namespace: "apps", Address: "198.18.0.7", Port: port, ServerName: "x"}
	conn, err := dial(context.WithValue(ctx, replicaKey{}, rep), "tcp", fmt.Sprintf("198.18.0.7:%d", port))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_, err = conn.Read(make([]byte, 1))
	if err == nil || !strings.Contains(err.Error(), "error forwarding port") {
		t.Fatalf("read = %v, want the kubelet's forwarding error", err)
	}

	missing := Replica{Name: "gone", Namespace: "apps", Address: "198.18.0.8", Port: port, ServerName: "x"}
	if _, err := dial(context.WithValue(ctx, replicaKey{}, missing), "tcp", "198.18.0.8:1"); err == nil {
		t.Fatal("dial to an unknown pod succeeded")
	}
	if _, err := dial(ctx, "tcp", "198.18.0.8:1"); err == nil || !strings.Contains(err.Error(), "pod is unknown") {
		t.Fatalf("dial without a replica = %v", err)
	}
}

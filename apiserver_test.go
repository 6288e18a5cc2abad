package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

func TestWaitForAPIServerWaitsUntilItAnswers(t *testing.T) {
	var calls atomic.Int32
	probes := freeAddr(t)
	var health, ready int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if n == 2 {
			// While the API server is down, the probes answer: alive, not ready.
			health, ready = probeStatus(t, probes, "/healthz"), probeStatus(t, probes, "/readyz")
		}
		// Down for the first three calls, as during an outage.
		if n <= 3 {
			http.Error(w, "etcd unavailable", http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path != "/readyz" {
			http.Error(w, "not the readiness endpoint", http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	if err := waitForAPIServer(context.Background(), &rest.Config{Host: srv.URL}, 10*time.Millisecond, probes); err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 4 {
		t.Errorf("asked %d times, want 4 (three failures, then the answer)", got)
	}
	if health != http.StatusOK || ready != http.StatusServiceUnavailable {
		t.Errorf("while waiting: /healthz %d, /readyz %d; want 200 and 503", health, ready)
	}
	// The manager's probe server needs the address once the wait is over.
	ln, err := net.Listen("tcp", probes)
	if err != nil {
		t.Fatalf("probe address still taken after the wait: %v", err)
	}
	ln.Close()
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func probeStatus(t *testing.T, addr, path string) int {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Errorf("probe %s: %v", path, err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestWaitForAPIServerStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	// Nothing listens on port 9 of 127.0.0.1 (discard): connection refused.
	if err := waitForAPIServer(ctx, &rest.Config{Host: "http://127.0.0.1:9"}, 10*time.Millisecond, ""); err == nil {
		t.Fatal("returned without an API server and without an error")
	}
}

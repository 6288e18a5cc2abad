package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

func TestWaitForAPIServerWaitsUntilItAnswers(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Down for the first three calls, as during an outage.
		if calls.Add(1) <= 3 {
			http.Error(w, "etcd unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"major":"1","minor":"36","gitVersion":"v1.36.3"}`))
	}))
	defer srv.Close()
	if err := waitForAPIServer(context.Background(), &rest.Config{Host: srv.URL}, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 4 {
		t.Errorf("asked %d times, want 4 (three failures, then the answer)", got)
	}
}

func TestWaitForAPIServerStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	// Nothing listens on port 9 of 127.0.0.1 (discard): connection refused.
	if err := waitForAPIServer(ctx, &rest.Config{Host: "http://127.0.0.1:9"}, 10*time.Millisecond); err == nil {
		t.Fatal("returned without an API server and without an error")
	}
}

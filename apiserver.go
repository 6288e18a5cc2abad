package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
)

// apiServerWaitInterval is how often the operator asks an unreachable API
// server for its version while it starts.
const apiServerWaitInterval = 2 * time.Second

// waitForAPIServer returns once the API server answers GET /readyz, or
// when ctx ends. It logs the first failure and then every 30 s, so an
// outage is visible without flooding the log. Meanwhile probeAddr (unless
// empty) answers the kubelet's probes: alive (/healthz), not ready
// (/readyz), so that an operator waiting out an outage is not restarted by
// its liveness probe.
func waitForAPIServer(ctx context.Context, cfg *rest.Config, interval time.Duration, probeAddr string) error {
	if probeAddr != "" {
		stop, err := serveWaitingProbes(probeAddr)
		if err != nil {
			return err
		}
		defer stop()
	}
	short := rest.CopyConfig(cfg)
	short.Timeout = 5 * time.Second
	dc, err := discovery.NewDiscoveryClientForConfig(short)
	if err != nil {
		return fmt.Errorf("API server client: %w", err)
	}
	log := ctrl.Log.WithName("setup")
	start, lastLog := time.Now(), time.Time{}
	for {
		// /readyz, not /version: ready means etcd answers and the CRDs
		// are served (its checks include the CRD informer's sync), which
		// the operator's start relies on.
		err := dc.RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
		if err == nil {
			if !lastLog.IsZero() {
				log.Info("the API server answers again", "waited", time.Since(start).Round(time.Second).String())
			}
			return nil
		}
		if time.Since(lastLog) >= 30*time.Second {
			log.Info("waiting for the API server", "host", cfg.Host, "error", err.Error(), "waited", time.Since(start).Round(time.Second).String())
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped while waiting for the API server at %s: %w", cfg.Host, err)
		case <-time.After(interval):
		}
	}
}

// serveWaitingProbes answers /healthz with 200 and /readyz with 503 on
// addr until the returned stop is called; stop frees addr for the
// manager's own probe server.
func serveWaitingProbes(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve probes on %s while waiting for the API server: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "waiting for the API server", http.StatusServiceUnavailable)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return func() {
		_ = srv.Close()
		<-done
	}, nil
}

package main

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
)

// apiServerWaitInterval is how often the operator asks an unreachable API
// server for its version while it starts.
const apiServerWaitInterval = 2 * time.Second

// waitForAPIServer returns once the API server answers GET /version, or
// when ctx ends. It logs the first failure and then every 30 s, so an
// outage is visible without flooding the log.
func waitForAPIServer(ctx context.Context, cfg *rest.Config, interval time.Duration) error {
	short := rest.CopyConfig(cfg)
	short.Timeout = 5 * time.Second
	dc, err := discovery.NewDiscoveryClientForConfig(short)
	if err != nil {
		return fmt.Errorf("API server client: %w", err)
	}
	log := ctrl.Log.WithName("setup")
	start, lastLog := time.Now(), time.Time{}
	for {
		_, err := dc.ServerVersion()
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

package dataplane

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsRecordPushOutcomes(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	res := Result{
		Bytes: 1234, InSync: 1, Total: 7,
		Replicas: []Outcome{{InSync: true}, {Skipped: true, InSync: true}, {Rejection: &ConfigError{Status: 400}},
			{Err: fmt.Errorf("replica c: POST /config: %w", &AdminAuthError{Status: 400, Reason: "The SSL certificate error"})},
			{Err: fmt.Errorf("replica d: GET /status: %w", &AdminServerCertError{Err: &tls.CertificateVerificationError{Err: errors.New("x509: certificate signed by unknown authority")}})},
			{Err: errors.New("replica e: POST /config: 500 Internal Server Error")},
			{Err: fmt.Errorf("replica f: GET /status: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})}},
		Rejection: &ConfigError{Status: 400, Entities: []EntityError{{EntityType: "route"}, {EntityType: "route"}}},
	}
	m.ObservePush("apps", "web", res, 20*time.Millisecond)

	want := `
# HELP drawbridge_replica_pushes_total Per-replica push outcomes: ok, skipped (already held), rejected (Kong 400), auth_failed (the admin API refused the operator's client certificate, or the replica's server certificate did not verify), unreachable (no connection could be made, as while Kong starts) or failed.
# TYPE drawbridge_replica_pushes_total counter
drawbridge_replica_pushes_total{gateway="web",namespace="apps",result="auth_failed"} 2
drawbridge_replica_pushes_total{gateway="web",namespace="apps",result="failed"} 1
drawbridge_replica_pushes_total{gateway="web",namespace="apps",result="ok"} 1
drawbridge_replica_pushes_total{gateway="web",namespace="apps",result="rejected"} 1
drawbridge_replica_pushes_total{gateway="web",namespace="apps",result="skipped"} 1
drawbridge_replica_pushes_total{gateway="web",namespace="apps",result="unreachable"} 1
# HELP drawbridge_kong_rejections_total Kong validation errors by entity type and field or reason.
# TYPE drawbridge_kong_rejections_total counter
drawbridge_kong_rejections_total{entity_type="route",gateway="web",namespace="apps",status="400"} 2
# HELP drawbridge_replicas_in_sync Replicas of a Gateway that hold its current configuration.
# TYPE drawbridge_replicas_in_sync gauge
drawbridge_replicas_in_sync{gateway="web",namespace="apps"} 1
# HELP drawbridge_config_bytes Size of a Gateway's current Kong configuration.
# TYPE drawbridge_config_bytes gauge
drawbridge_config_bytes{gateway="web",namespace="apps"} 1234
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"drawbridge_replica_pushes_total", "drawbridge_kong_rejections_total", "drawbridge_replicas_in_sync", "drawbridge_config_bytes"); err != nil {
		t.Fatal(err)
	}

	m.Forget("apps", "web")
	if n := testutil.CollectAndCount(m.Pushes); n != 0 {
		t.Fatalf("%d push series left after Forget", n)
	}
	var nilMetrics *Metrics
	nilMetrics.ObservePush("apps", "web", res, time.Millisecond) // must not panic
}

func TestMetricsRecordChecks(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	inSync := CheckReport{Replicas: []ReplicaCheck{{Result: CheckInSync}, {Result: CheckInSync}}}
	drifted := CheckReport{Replicas: []ReplicaCheck{{Result: CheckInSync}, {Result: CheckDrifted}}}
	m.ObserveCheck("apps", "web", inSync, false)
	m.ObserveCheck("apps", "web", drifted, true)

	want := `
# HELP drawbridge_replica_check_reconciles_total Full Gateway reconciles started because a periodic replica check found drift.
# TYPE drawbridge_replica_check_reconciles_total counter
drawbridge_replica_check_reconciles_total{gateway="web",namespace="apps"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "drawbridge_replica_check_reconciles_total"); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.ReplicaChecks.WithLabelValues("apps", "web", "in_sync")); got != 3 {
		t.Fatalf("in_sync checks %v, want 3", got)
	}
	if got := testutil.ToFloat64(m.ReplicaChecks.WithLabelValues("apps", "web", "drifted")); got != 1 {
		t.Fatalf("drifted checks %v, want 1", got)
	}

	m.Forget("apps", "web")
	if n := testutil.CollectAndCount(m.ReplicaChecks) + testutil.CollectAndCount(m.CheckReconciles); n != 0 {
		t.Fatalf("%d check series left after Forget", n)
	}
	var nilMetrics *Metrics
	nilMetrics.ObserveCheck("apps", "web", drifted, true) // must not panic
}

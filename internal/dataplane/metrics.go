package dataplane

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the data-plane figures the operator exports on its metrics
// endpoint. Labels identify the Gateway as namespace and name; replica pod
// names are not used as labels, so series do not grow with pod churn.
type Metrics struct {
	TranslationSeconds *prometheus.HistogramVec
	ConfigBytes        *prometheus.GaugeVec
	PushSeconds        *prometheus.HistogramVec
	Pushes             *prometheus.CounterVec
	ReplicasInSync     *prometheus.GaugeVec
	Replicas           *prometheus.GaugeVec
	Rejections         *prometheus.CounterVec
	// ReplicaChecks counts the periodic checks per replica and verdict;
	// CheckReconciles the full reconciles those checks asked for.
	ReplicaChecks   *prometheus.CounterVec
	CheckReconciles *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	gw := []string{"namespace", "gateway"}
	m := &Metrics{
		TranslationSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "drawbridge_translation_duration_seconds", Help: "Time to translate a Gateway's routes to Kong configuration.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, gw),
		ConfigBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "drawbridge_config_bytes", Help: "Size of a Gateway's current Kong configuration.",
		}, gw),
		PushSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "drawbridge_push_duration_seconds", Help: "Time to push a configuration to all replicas of a Gateway.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 13),
		}, gw),
		Pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "drawbridge_replica_pushes_total", Help: "Per-replica push outcomes: ok, skipped (already held), rejected (Kong 400), " +
				"auth_failed (the admin API refused the operator's client certificate, or the replica's server certificate did not verify), unreachable (no connection could be made, as while Kong starts) or failed.",
		}, append(gw, "result")),
		ReplicasInSync: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "drawbridge_replicas_in_sync", Help: "Replicas of a Gateway that hold its current configuration.",
		}, gw),
		Replicas: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "drawbridge_replicas", Help: "Replicas of a Gateway discovered on its admin Service.",
		}, gw),
		Rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "drawbridge_kong_rejections_total", Help: "Kong validation errors by entity type and field or reason.",
		}, append(gw, "entity_type", "status")),
		ReplicaChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "drawbridge_replica_checks_total",
			Help: "Periodic replica checks by verdict: in_sync, drifted (lost or replaced configuration), unreachable, new (not pushed to yet), " +
				"pending (last push failed; its reconcile retries) or busy (a push was under way).",
		}, append(gw, "result")),
		CheckReconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "drawbridge_replica_check_reconciles_total", Help: "Full Gateway reconciles started because a periodic replica check found drift.",
		}, gw),
	}
	reg.MustRegister(m.TranslationSeconds, m.ConfigBytes, m.PushSeconds, m.Pushes, m.ReplicasInSync, m.Replicas, m.Rejections,
		m.ReplicaChecks, m.CheckReconciles)
	return m
}

// ObservePush records one Push of a Gateway's configuration.
func (m *Metrics) ObservePush(namespace, gateway string, res Result, took time.Duration) {
	if m == nil {
		return
	}
	m.PushSeconds.WithLabelValues(namespace, gateway).Observe(took.Seconds())
	m.ReplicasInSync.WithLabelValues(namespace, gateway).Set(float64(res.InSync))
	m.Replicas.WithLabelValues(namespace, gateway).Set(float64(res.Total))
	m.ConfigBytes.WithLabelValues(namespace, gateway).Set(float64(res.Bytes))
	for _, o := range res.Replicas {
		result := "ok"
		switch {
		case o.Skipped:
			result = "skipped"
		case o.Rejection != nil:
			result = "rejected"
		case o.AuthFailure() != nil:
			result = "auth_failed"
		case o.Unreachable():
			result = "unreachable"
		case !o.InSync:
			result = "failed"
		}
		m.Pushes.WithLabelValues(namespace, gateway, result).Inc()
	}
	if res.Rejection != nil {
		status := strconv.Itoa(res.Rejection.Status)
		if len(res.Rejection.Entities) == 0 {
			m.Rejections.WithLabelValues(namespace, gateway, "", status).Inc()
		}
		for _, e := range res.Rejection.Entities {
			m.Rejections.WithLabelValues(namespace, gateway, e.EntityType, status).Inc()
		}
	}
}

// ObserveCheck records one periodic check of a Gateway's replicas and
// whether it started a full reconcile.
func (m *Metrics) ObserveCheck(namespace, gateway string, report CheckReport, reconciled bool) {
	if m == nil {
		return
	}
	for _, c := range report.Replicas {
		m.ReplicaChecks.WithLabelValues(namespace, gateway, string(c.Result)).Inc()
	}
	if reconciled {
		m.CheckReconciles.WithLabelValues(namespace, gateway).Inc()
	}
}

// ObserveTranslation records how long translating a Gateway took.
func (m *Metrics) ObserveTranslation(namespace, gateway string, took time.Duration) {
	if m == nil {
		return
	}
	m.TranslationSeconds.WithLabelValues(namespace, gateway).Observe(took.Seconds())
}

// Forget removes the series of a deleted Gateway.
func (m *Metrics) Forget(namespace, gateway string) {
	if m == nil {
		return
	}
	labels := prometheus.Labels{"namespace": namespace, "gateway": gateway}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		m.TranslationSeconds, m.ConfigBytes, m.PushSeconds, m.Pushes, m.ReplicasInSync, m.Replicas, m.Rejections,
		m.ReplicaChecks, m.CheckReconciles,
	} {
		v.DeletePartialMatch(labels)
	}
}

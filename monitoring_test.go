package main

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
	"github.com/drawbridge-dev/drawbridge/internal/monitoring"
)

// TestDashboardAndAlertMetricsExist checks every operator metric that the
// Grafana dashboard and the alert rules query (config/monitoring, as
// test/monitoring extracted them) against the registry this binary serves:
// Drawbridge's data-plane metrics registered the way run() registers them,
// and what controller-runtime registered on ctrlmetrics.Registry when this
// package's imports (the same as main.go's) were initialised. Names come
// from the collectors' descriptors, so vectors with no series yet count.
func TestDashboardAndAlertMetricsExist(t *testing.T) {
	used, err := monitoring.Load(".")
	if err != nil {
		t.Fatal(err)
	}
	rec := &describingRegisterer{Registerer: ctrlmetrics.Registry, names: map[string]bool{}}
	dataplane.NewMetrics(rec)
	if len(rec.names) == 0 {
		t.Fatal("dataplane.NewMetrics registered no collector")
	}
	known := func(name string) bool {
		return rec.names[name] || describedIn(ctrlmetrics.Registry, name)
	}
	// The check must be able to say no.
	for _, absent := range []string{"drawbridge_no_such_metric_total", "kong_http_requests_total"} {
		if known(absent) {
			t.Fatalf("the registry claims %s, which the operator does not export; the check is broken", absent)
		}
	}
	checked := 0
	for _, m := range used.Operator() {
		checked++
		if !slices.ContainsFunc(monitoring.Candidates(m.Name), known) {
			t.Errorf("%s (used by the %s) is not a metric of the operator's registry: fix the query, or the metric's name in internal/dataplane/metrics.go",
				m.Name, strings.Join(m.UsedBy, " and "))
		}
	}
	if checked == 0 {
		t.Fatal("the list names no operator metric")
	}
}

// describingRegisterer forwards registrations and records the names of
// every descriptor the collectors describe.
type describingRegisterer struct {
	prometheus.Registerer
	names map[string]bool
}

func (r *describingRegisterer) Register(c prometheus.Collector) error {
	r.describe(c)
	return r.Registerer.Register(c)
}

func (r *describingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		r.describe(c)
	}
	r.Registerer.MustRegister(cs...)
}

func (r *describingRegisterer) describe(c prometheus.Collector) {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		r.names[descName(d)] = true
	}
}

// descName reads the fully-qualified name out of a descriptor, which
// client_golang only shows through String().
func descName(d *prometheus.Desc) string {
	s := d.String()
	const key = `fqName: "`
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	s = s[i+len(key):]
	return s[:strings.IndexByte(s, '"')]
}

// describedIn reports whether reg already holds a collector that describes
// a metric named name. A registry does not list its collectors, but it
// refuses a new descriptor whose name it already has (with other labels or
// help, or the same ones): registering a probe with that name answers the
// question, and a probe that got in is taken out again.
func describedIn(reg prometheus.Registerer, name string) bool {
	p := probe{prometheus.NewDesc(name, "probe for an existing descriptor", nil, nil)}
	err := reg.Register(p)
	if err == nil {
		reg.Unregister(p)
		return false
	}
	var already prometheus.AlreadyRegisteredError
	return errors.As(err, &already) || strings.Contains(err.Error(), "same fully-qualified name")
}

type probe struct{ desc *prometheus.Desc }

func (p probe) Describe(ch chan<- *prometheus.Desc) { ch <- p.desc }
func (p probe) Collect(chan<- prometheus.Metric)    {}

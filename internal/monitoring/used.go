// Package monitoring reads config/monitoring/metrics-used.json: the metrics
// and labels that Drawbridge's Grafana dashboard and Prometheus alert rules
// query. test/monitoring extracts the list from those files with
// Prometheus's PromQL parser; the operator's tests check the names against
// its metrics registry, and the lab e2e suite against real Kong's /metrics.
//
// It also derives, from the ServiceMonitors in config/monitoring, the scrape
// configuration a Prometheus Operator would generate (scrape.go), so that
// the lab e2e suite can run a plain Prometheus with what users install.
package monitoring

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// UsedFile is the list's path relative to the repository root.
const UsedFile = "config/monitoring/metrics-used.json"

// Used is the list as test/monitoring writes it.
type Used struct {
	// ScrapeLabels are added by Prometheus when it scrapes a data plane
	// (namespace, pod, the gateway relabeling...), not written by Kong.
	ScrapeLabels []string `json:"scrapeLabels"`
	Metrics      []Metric `json:"metrics"`
}

// Metric is one metric name as the queries write it, with the labels they
// select on or group by.
type Metric struct {
	Name   string   `json:"name"`
	Labels []string `json:"labels"`
	UsedBy []string `json:"usedBy"`
}

// KongPrefix starts the names of the metrics of Kong's prometheus plugin.
const KongPrefix = "kong_"

// Load reads the list from the repository at root.
func Load(root string) (*Used, error) {
	raw, err := os.ReadFile(filepath.Join(root, UsedFile))
	if err != nil {
		return nil, fmt.Errorf("read the monitoring metrics list (make monitoring-list writes it): %w", err)
	}
	var u Used
	if err := json.Unmarshal(raw, &u); err != nil {
		return nil, fmt.Errorf("%s: %w", UsedFile, err)
	}
	if len(u.Metrics) == 0 {
		return nil, fmt.Errorf("%s lists no metrics", UsedFile)
	}
	return &u, nil
}

// Kong returns the metrics of Kong's prometheus plugin; Operator the others.
func (u *Used) Kong() []Metric     { return u.filter(true) }
func (u *Used) Operator() []Metric { return u.filter(false) }

func (u *Used) filter(kong bool) []Metric {
	var out []Metric
	for _, m := range u.Metrics {
		if strings.HasPrefix(m.Name, KongPrefix) == kong {
			out = append(out, m)
		}
	}
	return out
}

// OwnLabels are the labels of m that the exporter itself must write: those
// the queries use, less the ones the scrape adds.
func (u *Used) OwnLabels(m Metric) []string {
	var out []string
	for _, l := range m.Labels {
		scrape := false
		for _, s := range u.ScrapeLabels {
			scrape = scrape || s == l
		}
		if !scrape {
			out = append(out, l)
		}
	}
	return out
}

// histogramSuffixes are the series a histogram or summary exposes besides
// its family name.
var histogramSuffixes = []string{"_bucket", "_sum", "_count"}

// Candidates are the family names a queried series can belong to: the
// name itself and, for a histogram's or summary's series, the name
// without the suffix.
func Candidates(name string) []string {
	out := []string{name}
	for _, s := range histogramSuffixes {
		if base, ok := strings.CutSuffix(name, s); ok {
			out = append(out, base)
		}
	}
	return out
}

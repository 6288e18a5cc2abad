package monitoring

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
)

// TestDashboardQueriesReturnData runs every dashboard query, with "All"
// selected in each variable, on Prometheus's engine over series made to
// match it: one series per selector the dashboard writes, with the values
// its matchers ask for and every other label the queries use. Each query
// must evaluate without error (no many-to-many join, no mismatched
// vectors) and return data, so a panel that cannot show anything with the
// metrics as exported fails here.
func TestDashboardQueriesReturnData(t *testing.T) {
	_, queries, d, err := AllQueries(root)
	if err != nil {
		t.Fatal(err)
	}
	used, err := Extract(root)
	if err != nil {
		t.Fatal(err)
	}
	usedLabels := map[string][]string{}
	for _, m := range used.Metrics {
		usedLabels[m.Name] = m.Labels
	}
	defined := d.DefinedVariables()
	p := NewParser()
	type evalQuery struct{ where, expr string }
	var evals []evalQuery
	series := map[string]bool{}
	for _, q := range queries {
		if strings.HasPrefix(q.Where, "variable ") {
			continue // label_values is Grafana's, not PromQL
		}
		expr, err := expandGrafana(q.Expr, defined, func(string) string { return ".+" })
		if err != nil {
			t.Fatal(err)
		}
		e, err := p.ParseExpr(expr)
		if err != nil {
			t.Fatalf("%s: %v", q.Where, err)
		}
		parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				for _, s := range seriesFor(vs, usedLabels[vs.Name]) {
					series[s] = true
				}
			}
			return nil
		})
		evals = append(evals, evalQuery{q.Where, expr})
	}
	lines := slices.Sorted(maps.Keys(series))
	storage := promqltest.LoadedStorage(t, "load 1m\n  "+strings.Join(lines, "\n  ")+"\n")
	engine := promqltest.NewTestEngine(t, false, 5*time.Minute, 1_000_000)
	at := time.Unix(0, 0).Add(400 * time.Minute)
	for _, q := range evals {
		qry, err := engine.NewInstantQuery(context.Background(), storage, nil, q.expr, at)
		if err != nil {
			t.Errorf("%s: %v", q.where, err)
			continue
		}
		res := qry.Exec(context.Background())
		if res.Err != nil {
			t.Errorf("%s: %v\n%s", q.where, res.Err, q.expr)
			continue
		}
		if v, ok := res.Value.(promql.Vector); ok && len(v) == 0 {
			t.Errorf("%s returns no data on series made for it:\n%s", q.where, q.expr)
		}
		qry.Close()
	}
}

// seriesFor is a promqltest series line that vs selects (a counter
// growing by one a minute, or a gauge at 1): each matcher gets a value it
// accepts, every other label the queries use gets "v"; a histogram's
// _bucket gets two buckets.
func seriesFor(vs *parser.VectorSelector, usedLabels []string) []string {
	set := map[string]string{}
	for _, l := range usedLabels {
		set[l] = "v"
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName {
			continue
		}
		set[m.Name] = sampleValue(m)
	}
	render := func(extra string) string {
		keys := slices.Sorted(maps.Keys(set))
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%q", k, set[k]))
		}
		if extra != "" {
			parts = append(parts, extra)
		}
		sort.Strings(parts)
		return vs.Name + "{" + strings.Join(parts, ", ") + "}"
	}
	if strings.HasSuffix(vs.Name, "_bucket") {
		return []string{render(`le="0.5"`) + " 0+1x400", render(`le="+Inf"`) + " 0+2x400"}
	}
	if isCounter(vs.Name) {
		return []string{render("") + " 0+1x400"}
	}
	return []string{render("") + " 1x400"}
}

// isCounter tells counters (which the queries take rates of) from gauges
// (which hold a state, such as 1 for a target's current health state).
func isCounter(name string) bool {
	for _, suffix := range []string{"_total", "_count", "_sum"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return name == "kong_bandwidth_bytes"
}

// sampleValue finds a value the matcher accepts: the first alternative of
// a regular expression, the expression with its dots as digits, or a word.
func sampleValue(m *labels.Matcher) string {
	candidates := []string{m.Value, strings.Split(m.Value, "|")[0], strings.ReplaceAll(m.Value, ".", "0"), "sample", "v"}
	for _, c := range candidates {
		if c != "" && m.Matches(c) {
			return c
		}
	}
	return "sample"
}

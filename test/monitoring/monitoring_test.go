package monitoring

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
)

var update = flag.Bool("update", false, "rewrite "+UsedFile)

const root = "../.."

// TestRulesLoad loads the PrometheusRule's groups with Prometheus's rule
// loader, which parses every expression and annotation template and
// refuses unknown fields, then checks what the README promises of each
// alert.
func TestRulesLoad(t *testing.T) {
	meta, groups, err := RuleGroups(root)
	if err != nil {
		t.Fatal(err)
	}
	if meta["name"] != "drawbridge" {
		t.Errorf("the PrometheusRule is named %v; the chart and the bundle expect drawbridge", meta["name"])
	}
	if _, ok := meta["namespace"]; ok {
		t.Errorf("the PrometheusRule sets a namespace; leave it out, the installer sets it")
	}
	rgs, errs := loadRules(groups)
	for _, e := range errs {
		t.Error(e)
	}
	if rgs == nil {
		t.Fatal("no rule groups loaded")
	}
	alerts := map[string]bool{}
	for _, g := range rgs.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if alerts[r.Alert] {
				t.Errorf("alert %s is defined twice", r.Alert)
			}
			alerts[r.Alert] = true
			if time.Duration(r.For) < time.Minute {
				t.Errorf("alert %s: for is %s; give it at least a minute so one bad scrape does not page", r.Alert, time.Duration(r.For))
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" && s != "info" {
				t.Errorf("alert %s: severity %q, want critical, warning or info", r.Alert, s)
			}
			for _, a := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("alert %s has no %s annotation", r.Alert, a)
				}
			}
		}
	}
	for _, want := range []string{
		"DrawbridgeReplicasNotInSync", "DrawbridgePushFailures", "DrawbridgePushAuthFailures", "DrawbridgeKongRejectsConfiguration",
		"DrawbridgeNoReplicasDiscovered", "DrawbridgeOperatorAbsent", "DrawbridgeOperatorNoLeader", "DrawbridgeReconcileErrors",
		"DrawbridgeKong5xxRatioHigh", "DrawbridgeUpstreamTargetsUnhealthy",
	} {
		if !alerts[want] {
			t.Errorf("alert %s is missing (the README's alert table lists it)", want)
		}
	}
}

func loadRules(groups []byte) (*rulefmt.RuleGroups, []error) {
	return rulefmt.Parse(groups, false, model.UTF8Validation, NewParser(), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// TestRuleLoaderRefusesBrokenRules shows that the loader used above fails
// on what it must: a PromQL syntax error, a broken annotation template and
// an unknown field.
func TestRuleLoaderRefusesBrokenRules(t *testing.T) {
	for name, rule := range map[string]string{
		"promql":   "alert: A\n      expr: sum by (x (up)\n",
		"template": "alert: A\n      expr: up == 0\n      annotations: {summary: '{{ $labels.x '}\n",
		"field":    "alert: A\n      expr: up == 0\n      severity: warning\n",
	} {
		_, errs := loadRules([]byte("groups:\n- name: g\n  rules:\n    - " + rule))
		if len(errs) == 0 {
			t.Errorf("%s: the rule loader accepted a broken rule", name)
		}
	}
}

// TestDashboard checks the dashboard's structure: unique panel ids, every
// panel and target on the dashboard's Prometheus data source variable,
// unique refIds, every query parsing with variables defined, and the
// variables the README names.
func TestDashboard(t *testing.T) {
	_, queries, d, err := AllQueries(root)
	if err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.Title == "" {
		t.Error("the dashboard needs a uid and a title")
	}
	if d.SchemaVersion < 39 {
		t.Errorf("schemaVersion %d predates Grafana 11 (39)", d.SchemaVersion)
	}
	vars := map[string]Variable{}
	for _, v := range d.Templating.List {
		if _, dup := vars[v.Name]; dup {
			t.Errorf("variable %s is defined twice", v.Name)
		}
		vars[v.Name] = v
	}
	if v, ok := vars["datasource"]; !ok || v.Type != "datasource" || v.VariableQuery() != "prometheus" {
		t.Errorf("want a datasource variable of type prometheus, found %+v", v)
	}
	for _, name := range []string{"namespace", "gateway"} {
		if v, ok := vars[name]; !ok || v.Type != "query" {
			t.Errorf("want a query variable %s, found %+v", name, v)
		}
	}
	want := DatasourceRef{Type: "prometheus", UID: "${datasource}"}
	for _, v := range d.Templating.List {
		if v.Type == "query" && (v.Datasource == nil || *v.Datasource != want) {
			t.Errorf("variable %s: datasource %+v, want %+v", v.Name, v.Datasource, want)
		}
	}
	ids := map[int]string{}
	var grid []Panel
	for _, p := range d.AllPanels() {
		if p.ID == 0 {
			t.Errorf("panel %q has no id", p.Title)
		}
		if other, dup := ids[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", other, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.GridPos == nil || p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %d %q: gridPos %+v does not fit the 24-column grid", p.ID, p.Title, p.GridPos)
		} else {
			grid = append(grid, p)
		}
		if p.Type == "row" {
			continue
		}
		if p.Title == "" {
			t.Errorf("panel %d has no title", p.ID)
		}
		if p.Datasource == nil || *p.Datasource != want {
			t.Errorf("panel %d %q: datasource %+v, want %+v", p.ID, p.Title, p.Datasource, want)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %d %q has no query", p.ID, p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %d %q: refId %q is empty or repeated", p.ID, p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
			if tg.Datasource == nil || *tg.Datasource != want {
				t.Errorf("panel %d %q target %s: datasource %+v, want %+v", p.ID, p.Title, tg.RefID, tg.Datasource, want)
			}
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %d %q target %s has no expression", p.ID, p.Title, tg.RefID)
			}
		}
	}
	for i, a := range grid {
		for _, b := range grid[i+1:] {
			ga, gb := a.GridPos, b.GridPos
			if ga.X < gb.X+gb.W && gb.X < ga.X+ga.W && ga.Y < gb.Y+gb.H && gb.Y < ga.Y+ga.H {
				t.Errorf("panels %q and %q overlap", a.Title, b.Title)
			}
		}
	}
	p := NewParser()
	defined := d.DefinedVariables()
	for _, q := range queries {
		if _, err := ParseQuery(p, q, defined); err != nil {
			t.Error(err)
		}
	}
}

// TestQueryChecksFail shows that a dashboard query with an undefined
// variable or a PromQL error is refused.
func TestQueryChecksFail(t *testing.T) {
	p := NewParser()
	defined := map[string]bool{"namespace": true}
	for _, expr := range []string{
		`sum(rate(kong_http_requests_total{namespace=~"$namespace", gateway=~"$gatway"}[$__rate_interval]))`,
		`sum by (route (rate(kong_http_requests_total{namespace=~"$namespace"}[$__rate_interval]))`,
	} {
		if _, err := ParseQuery(p, Query{Where: "test", Expr: expr, Grafana: true}, defined); err == nil {
			t.Errorf("accepted %s", expr)
		}
	}
	if _, err := ParseQuery(p, Query{Where: "test", Expr: `label_replace(up{namespace=~"${namespace:regex}"}, "c", "${1}xx", "code", "(.)..")`, Grafana: true}, defined); err != nil {
		t.Errorf("refused a label_replace reference or a formatted variable: %v", err)
	}
}

// TestExtract checks the extractor on expressions whose answer is known.
func TestExtract(t *testing.T) {
	p := NewParser()
	got := map[string][]string{}
	for _, expr := range []string{
		`sum by (route, class) (label_replace(rate(kong_http_requests_total{namespace="a"}[5m]), "class", "${1}xx", "code", "(.).."))`,
		`histogram_quantile(0.9, sum by (le, service) (rate(kong_request_latency_ms_bucket[5m])))`,
		`sum by (controller) (rate(errs_total[5m]) and on (instance) leader{name="x"})`,
	} {
		e, err := p.ParseExpr(expr)
		if err != nil {
			t.Fatal(err)
		}
		collect(e, scope{}, func(name string, labels []string) {
			slices.Sort(labels)
			got[name] = slices.Compact(append(got[name], labels...))
		})
	}
	want := map[string][]string{
		"kong_http_requests_total":       {"code", "namespace", "route"},
		"kong_request_latency_ms_bucket": {"service"},
		"errs_total":                     {"controller", "instance"},
		"leader":                         {"instance", "name"},
	}
	for name, labels := range want {
		if !slices.Equal(got[name], labels) {
			t.Errorf("%s: labels %v, want %v", name, got[name], labels)
		}
	}
	if len(got) != len(want) {
		t.Errorf("metrics %v, want those of %v", got, want)
	}
}

// TestUsedListIsFresh keeps config/monitoring/metrics-used.json, which the
// operator's registry test and the lab e2e suite read, in step with the
// dashboard and the rules. Run with -update (make monitoring-list) to
// rewrite it.
func TestUsedListIsFresh(t *testing.T) {
	used, err := Extract(root)
	if err != nil {
		t.Fatal(err)
	}
	b, err := used.Encode()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, UsedFile)
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `make monitoring-list`)", err)
	}
	if !bytes.Equal(have, b) {
		t.Errorf("%s is stale: run `make monitoring-list` and commit it", UsedFile)
	}
	var kong, operator int
	for _, m := range used.Metrics {
		if strings.HasPrefix(m.Name, "kong_") {
			kong++
		} else {
			operator++
		}
	}
	if kong == 0 || operator == 0 {
		t.Errorf("found %d Kong and %d operator metrics in the dashboard and rules; expected both", kong, operator)
	}
	t.Logf("%d metrics: %d Kong, %d operator", len(used.Metrics), kong, operator)
}

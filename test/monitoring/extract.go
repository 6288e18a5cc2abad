package monitoring

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// Paths relative to the repository root.
const (
	RulesFile     = "config/monitoring/prometheus-rule.yaml"
	DashboardFile = "config/monitoring/grafana-dashboard.json"
	UsedFile      = "config/monitoring/metrics-used.json"
)

// ScrapeLabels are the labels Prometheus adds to the data planes' series
// when it scrapes them the way the README says (ServiceMonitor on the
// <gateway>-kong-metrics Services with a `gateway` relabeling); Kong's
// exporter does not write them, so the e2e check leaves them out.
var ScrapeLabels = []string{"gateway", "instance", "job", "namespace", "pod"}

// Used is the content of metrics-used.json.
type Used struct {
	GeneratedBy  string       `json:"generatedBy"`
	ScrapeLabels []string     `json:"scrapeLabels"`
	Metrics      []UsedMetric `json:"metrics"`
}

// UsedMetric is one metric name as the queries write it (a histogram's
// _bucket series keeps its suffix) and the labels they select or group by.
type UsedMetric struct {
	Name   string   `json:"name"`
	Labels []string `json:"labels"`
	// UsedBy says where: "rules", "dashboard" or both.
	UsedBy []string `json:"usedBy"`
}

// Query is one PromQL expression and where it comes from, for messages.
type Query struct {
	Where string
	Expr  string
	// Grafana is true for dashboard queries, whose variables are
	// replaced before parsing.
	Grafana bool
}

// NewParser is the PromQL parser with Prometheus's default options, the one
// the rule loader and the query API use.
func NewParser() parser.Parser { return parser.NewParser(parser.Options{}) }

// RuleGroups reads the PrometheusRule and returns its spec in the rule
// file format Prometheus loads (the operator copies spec.groups into one).
func RuleGroups(root string) (meta map[string]any, groups []byte, err error) {
	raw, err := os.ReadFile(filepath.Join(root, RulesFile))
	if err != nil {
		return nil, nil, err
	}
	var obj struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   map[string]any `json:"metadata"`
		Spec       map[string]any `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(raw, &obj); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", RulesFile, err)
	}
	if obj.APIVersion != "monitoring.coreos.com/v1" || obj.Kind != "PrometheusRule" {
		return nil, nil, fmt.Errorf("%s: want a monitoring.coreos.com/v1 PrometheusRule, found %s %s", RulesFile, obj.APIVersion, obj.Kind)
	}
	groups, err = yaml.Marshal(obj.Spec)
	if err != nil {
		return nil, nil, err
	}
	return obj.Metadata, groups, nil
}

// ruleQueries lists the expressions of every rule.
func ruleQueries(root string) ([]Query, error) {
	_, raw, err := RuleGroups(root)
	if err != nil {
		return nil, err
	}
	var spec struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert  string `json:"alert"`
				Record string `json:"record"`
				Expr   string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(raw, &spec); err != nil {
		return nil, err
	}
	var out []Query
	for _, g := range spec.Groups {
		for _, r := range g.Rules {
			out = append(out, Query{Where: fmt.Sprintf("rule %s/%s%s", g.Name, r.Alert, r.Record), Expr: r.Expr})
		}
	}
	return out, nil
}

// Dashboard is the part of Grafana's dashboard model the checks read.
type Dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []Panel `json:"panels"`
	Templating    struct {
		List []Variable `json:"list"`
	} `json:"templating"`
}

// Panel is a dashboard panel or row.
type Panel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource *DatasourceRef  `json:"datasource"`
	GridPos    *GridPos        `json:"gridPos"`
	Targets    []Target        `json:"targets"`
	Panels     []Panel         `json:"panels"`
	Raw        json.RawMessage `json:"-"`
}

// GridPos places a panel on Grafana's 24-column grid.
type GridPos struct {
	H, W, X, Y int
}

// Target is one query of a panel.
type Target struct {
	RefID      string         `json:"refId"`
	Expr       string         `json:"expr"`
	Datasource *DatasourceRef `json:"datasource"`
}

// DatasourceRef names a data source by type and uid.
type DatasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Variable is a template variable.
type Variable struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Query      any            `json:"query"`
	Datasource *DatasourceRef `json:"datasource"`
}

// VariableQuery is the query text of a query variable (Grafana stores it
// as a string, or as an object with a query field).
func (v Variable) VariableQuery() string {
	switch q := v.Query.(type) {
	case string:
		return q
	case map[string]any:
		s, _ := q["query"].(string)
		return s
	}
	return ""
}

// LoadDashboard reads and decodes the dashboard JSON.
func LoadDashboard(root string) (*Dashboard, error) {
	raw, err := os.ReadFile(filepath.Join(root, DashboardFile))
	if err != nil {
		return nil, err
	}
	var d Dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", DashboardFile, err)
	}
	return &d, nil
}

// AllPanels flattens rows (collapsed rows keep their panels inside).
func (d *Dashboard) AllPanels() []Panel {
	var out []Panel
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// labelValuesQuery matches Grafana's label_values(selector, label).
var labelValuesQuery = regexp.MustCompile(`^\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$`)

func dashboardQueries(d *Dashboard) []Query {
	var out []Query
	for _, p := range d.AllPanels() {
		for _, t := range p.Targets {
			out = append(out, Query{Where: fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, t.RefID), Expr: t.Expr, Grafana: true})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q := v.VariableQuery()
		if m := labelValuesQuery.FindStringSubmatch(q); m != nil {
			// Grouping by the label makes the extractor record it.
			out = append(out, Query{Where: "variable " + v.Name, Expr: fmt.Sprintf("group by (%s) (%s)", m[2], m[1]), Grafana: true})
		} else {
			out = append(out, Query{Where: "variable " + v.Name, Expr: q, Grafana: true})
		}
	}
	return out
}

// grafanaVariable matches $name, ${name}, ${name:format} and [[name]].
var grafanaVariable = regexp.MustCompile(`\$\{(\w+)(?:[.:][^}]*)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]`)

// builtinDurations are Grafana's interval variables, replaced by a
// duration so that range selectors parse.
var builtinDurations = map[string]string{
	"__rate_interval": "5m", "__interval": "1m", "__range": "6h", "interval": "1m",
}

// builtinValues are Grafana's other global variables.
var builtinValues = map[string]string{
	"__range_s": "21600", "__range_ms": "21600000", "__interval_ms": "60000", "__dashboard": "drawbridge",
}

// ExpandGrafana replaces the dashboard's variables in expr the way Grafana
// does before it sends the query, with a sample value; it fails on a
// variable the dashboard does not define. Numeric names ($1, ${1}) are
// regular-expression references of label_replace, not variables.
func ExpandGrafana(expr string, defined map[string]bool) (string, error) {
	return expandGrafana(expr, defined, func(name string) string { return "sample-" + name })
}

func expandGrafana(expr string, defined map[string]bool, value func(name string) string) (string, error) {
	var missing []string
	out := grafanaVariable.ReplaceAllStringFunc(expr, func(m string) string {
		sub := grafanaVariable.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		if regexp.MustCompile(`^[0-9]+$`).MatchString(name) {
			return m
		}
		if d, ok := builtinDurations[name]; ok {
			return d
		}
		if v, ok := builtinValues[name]; ok {
			return v
		}
		if !defined[name] {
			missing = append(missing, name)
			return m
		}
		return value(name)
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("uses variable(s) %s, which the dashboard does not define", strings.Join(missing, ", "))
	}
	return out, nil
}

// AllQueries returns every expression of the rules and the dashboard.
func AllQueries(root string) (rules, dashboard []Query, d *Dashboard, err error) {
	rules, err = ruleQueries(root)
	if err != nil {
		return nil, nil, nil, err
	}
	d, err = LoadDashboard(root)
	if err != nil {
		return nil, nil, nil, err
	}
	return rules, dashboardQueries(d), d, nil
}

// DefinedVariables are the names of the dashboard's template variables.
func (d *Dashboard) DefinedVariables() map[string]bool {
	out := map[string]bool{}
	for _, v := range d.Templating.List {
		out[v.Name] = true
	}
	return out
}

// ParseQuery expands a dashboard query's variables and parses it.
func ParseQuery(p parser.Parser, q Query, defined map[string]bool) (parser.Expr, error) {
	expr := q.Expr
	if q.Grafana {
		var err error
		if expr, err = ExpandGrafana(expr, defined); err != nil {
			return nil, fmt.Errorf("%s: %w", q.Where, err)
		}
	}
	e, err := p.ParseExpr(expr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", q.Where, err, q.Expr)
	}
	return e, nil
}

// Extract lists the metrics the rules and the dashboard use, with the
// labels each query selects on or groups, joins and relabels by.
func Extract(root string) (*Used, error) {
	rules, dash, d, err := AllQueries(root)
	if err != nil {
		return nil, err
	}
	p := NewParser()
	defined := d.DefinedVariables()
	acc := map[string]*usage{}
	for _, set := range []struct {
		by string
		qs []Query
	}{{"rules", rules}, {"dashboard", dash}} {
		for _, q := range set.qs {
			e, err := ParseQuery(p, q, defined)
			if err != nil {
				return nil, err
			}
			collect(e, scope{}, func(name string, labels []string) {
				u := acc[name]
				if u == nil {
					u = &usage{labels: map[string]bool{}, by: map[string]bool{}}
					acc[name] = u
				}
				for _, l := range labels {
					u.labels[l] = true
				}
				u.by[set.by] = true
			})
		}
	}
	out := &Used{
		GeneratedBy:  "test/monitoring from " + RulesFile + " and " + DashboardFile + "; regenerate with `make monitoring-list`",
		ScrapeLabels: ScrapeLabels,
	}
	for name, u := range acc {
		out.Metrics = append(out.Metrics, UsedMetric{Name: name, Labels: slices.Sorted(maps.Keys(u.labels)), UsedBy: slices.Sorted(maps.Keys(u.by))})
	}
	sort.Slice(out.Metrics, func(i, j int) bool { return out.Metrics[i].Name < out.Metrics[j].Name })
	return out, nil
}

// Encode renders metrics-used.json.
func (u *Used) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(u, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

type usage struct {
	labels map[string]bool
	by     map[string]bool
}

// scope is what the expressions around a selector ask of its labels:
// labels grouped or matched on above it, and labels that a label_replace
// or label_join in between writes (those are not the metric's own).
type scope struct {
	used, written []string
}

func (s scope) with(used, written []string) scope {
	return scope{used: append(slices.Clone(s.used), used...), written: append(slices.Clone(s.written), written...)}
}

func collect(node parser.Node, s scope, record func(name string, labels []string)) {
	switch n := node.(type) {
	case *parser.VectorSelector:
		name := n.Name
		var labels []string
		for _, m := range n.LabelMatchers {
			if m.Name == "__name__" {
				if name == "" {
					name = m.Value
				}
				continue
			}
			labels = append(labels, m.Name)
		}
		for _, l := range s.used {
			if !slices.Contains(s.written, l) && l != "le" {
				labels = append(labels, l)
			}
		}
		record(name, labels)
		return
	case *parser.AggregateExpr:
		collect(n.Expr, s.with(n.Grouping, nil), record)
		if n.Param != nil {
			collect(n.Param, s, record)
		}
		return
	case *parser.BinaryExpr:
		inner := s
		if vm := n.VectorMatching; vm != nil {
			inner = s.with(append(slices.Clone(vm.MatchingLabels), vm.Include...), nil)
		}
		collect(n.LHS, inner, record)
		// The result of `and` and `unless` carries the left side's labels
		// only: what the outer expression groups by is not asked of the
		// right side.
		if n.Op == parser.LAND || n.Op == parser.LUNLESS {
			if vm := n.VectorMatching; vm != nil {
				inner = scope{written: s.written}.with(append(slices.Clone(vm.MatchingLabels), vm.Include...), nil)
			}
		}
		collect(n.RHS, inner, record)
		return
	case *parser.Call:
		switch n.Func.Name {
		case "label_replace", "label_join":
			if len(n.Args) >= 4 {
				dst := stringArg(n.Args[1])
				var src []string
				if n.Func.Name == "label_replace" {
					src = []string{stringArg(n.Args[3])}
				} else {
					for _, a := range n.Args[3:] {
						src = append(src, stringArg(a))
					}
				}
				collect(n.Args[0], s.with(src, []string{dst}), record)
				return
			}
		}
	}
	for _, c := range parser.Children(node) {
		collect(c, s, record)
	}
}

func stringArg(e parser.Expr) string {
	if s, ok := e.(*parser.StringLiteral); ok {
		return s.Val
	}
	return ""
}

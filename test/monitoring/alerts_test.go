package monitoring

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/promqltest"
	"sigs.k8s.io/yaml"
)

// alertScenario is series to load and the series (labels only) an alert's
// expression must return at 20m: the firing ones, or none.
type alertScenario struct {
	name   string
	series string
	want   []string
}

const lease = `name="drawbridge.gateway.drawbridge.dev"`

// alertScenarios give every alert one case where it fires and one where
// it must not, with series shaped as the operator and Kong export them.
var alertScenarios = map[string][]alertScenario{
	"DrawbridgeOperatorAbsent": {
		{"no operator scraped", `process_cpu_seconds_total{instance="kong-0"} 0+1x30`, []string{`{` + lease + `}`}},
		{"operator present", `leader_election_master_status{` + lease + `, instance="op-0"} 0x30`, nil},
	},
	"DrawbridgeOperatorNoLeader": {
		{"nobody leads", `leader_election_master_status{` + lease + `, namespace="ops", instance="op-0"} 0x30
leader_election_master_status{` + lease + `, namespace="ops", instance="op-1"} 0x30`, []string{`{namespace="ops"}`}},
		{"one leads", `leader_election_master_status{` + lease + `, namespace="ops", instance="op-0"} 0x30
leader_election_master_status{` + lease + `, namespace="ops", instance="op-1"} 1x30`, nil},
	},
	"DrawbridgeReconcileErrors": {
		// Half of op-0's reconciles fail; another controller-runtime
		// operator (no Drawbridge lease) fails too and must not count.
		{"half fail", `leader_election_master_status{` + lease + `, namespace="ops", instance="op-0"} 1x30
controller_runtime_reconcile_errors_total{controller="gateway", namespace="ops", instance="op-0"} 0+1x30
controller_runtime_reconcile_total{controller="gateway", result="error", namespace="ops", instance="op-0"} 0+1x30
controller_runtime_reconcile_total{controller="gateway", result="success", namespace="ops", instance="op-0"} 0+1x30
controller_runtime_reconcile_errors_total{controller="gateway", namespace="other", instance="other-0"} 0+5x30
controller_runtime_reconcile_total{controller="gateway", result="error", namespace="other", instance="other-0"} 0+5x30`,
			[]string{`{controller="gateway", namespace="ops"}`}},
		{"one in a hundred fails", `leader_election_master_status{` + lease + `, namespace="ops", instance="op-0"} 1x30
controller_runtime_reconcile_errors_total{controller="gateway", namespace="ops", instance="op-0"} 0+1x30
controller_runtime_reconcile_total{controller="gateway", result="success", namespace="ops", instance="op-0"} 0+99x30`, nil},
	},
	"DrawbridgeReplicasNotInSync": {
		{"one of three behind", `drawbridge_replicas{namespace="a", gateway="g", instance="op-0"} 3x30
drawbridge_replicas_in_sync{namespace="a", gateway="g", instance="op-0"} 2x30
drawbridge_replicas{namespace="a", gateway="h", instance="op-0"} 2x30
drawbridge_replicas_in_sync{namespace="a", gateway="h", instance="op-0"} 2x30`, []string{`{gateway="g", namespace="a"}`}},
	},
	"DrawbridgeNoReplicasDiscovered": {
		{"no replica", `drawbridge_replicas{namespace="a", gateway="g", instance="op-0"} 0x30
drawbridge_replicas{namespace="a", gateway="h", instance="op-0"} 2x30`, []string{`{gateway="g", namespace="a"}`}},
	},
	"DrawbridgePushFailures": {
		{"failing pushes", `drawbridge_replica_pushes_total{namespace="a", gateway="g", result="failed", instance="op-0"} 0+1x30
drawbridge_replica_pushes_total{namespace="a", gateway="h", result="failed", instance="op-0"} 3x30
drawbridge_replica_pushes_total{namespace="a", gateway="h", result="ok", instance="op-0"} 0+5x30`, []string{`{gateway="g", namespace="a"}`}},
	},
	"DrawbridgePushAuthFailures": {
		{"refused certificate", `drawbridge_replica_pushes_total{namespace="a", gateway="g", result="auth_failed", instance="op-0"} 0+1x30
drawbridge_replica_pushes_total{namespace="a", gateway="h", result="auth_failed", instance="op-0"} 1x30`, []string{`{gateway="g", namespace="a"}`}},
	},
	"DrawbridgeKongRejectsConfiguration": {
		{"routes rejected", `drawbridge_kong_rejections_total{namespace="a", gateway="g", entity_type="routes", status="400", instance="op-0"} 0+1x30
drawbridge_kong_rejections_total{namespace="a", gateway="h", entity_type="plugins", status="400", instance="op-0"} 4x30`,
			[]string{`{entity_type="routes", gateway="g", namespace="a"}`}},
	},
	"DrawbridgeKong5xxRatioHigh": {
		// g: 10% 5xx at 100 requests a minute; h: only 5xx, but one a minute.
		{"10% 5xx", `kong_http_requests_total{namespace="a", gateway="g", pod="p", service="s", route="r", code="200", source="service"} 0+90x30
kong_http_requests_total{namespace="a", gateway="g", pod="p", service="s", route="r", code="502", source="kong"} 0+10x30
kong_http_requests_total{namespace="a", gateway="h", pod="q", service="s", route="r", code="503", source="kong"} 0+1x30`,
			[]string{`{gateway="g", namespace="a"}`}},
		{"1% 5xx", `kong_http_requests_total{namespace="a", gateway="g", pod="p", service="s", route="r", code="200", source="service"} 0+99x30
kong_http_requests_total{namespace="a", gateway="g", pod="p", service="s", route="r", code="500", source="service"} 0+1x30`, nil},
	},
	"DrawbridgeUpstreamTargetsUnhealthy": {
		{"t1 unhealthy", `kong_upstream_target_health{namespace="a", gateway="g", pod="p", upstream="u", target="t1", address="t1", state="unhealthy", subsystem="http"} 1x30
kong_upstream_target_health{namespace="a", gateway="g", pod="p", upstream="u", target="t1", address="t1", state="healthchecks_off", subsystem="http"} 0x30
kong_upstream_target_health{namespace="a", gateway="g", pod="p", upstream="u", target="t2", address="t2", state="unhealthy", subsystem="http"} 0x30
kong_upstream_target_health{namespace="a", gateway="g", pod="p", upstream="u", target="t2", address="t2", state="healthchecks_off", subsystem="http"} 1x30`,
			[]string{`{gateway="g", namespace="a", state="unhealthy", target="t1", upstream="u"}`}},
	},
}

// TestAlertsFireOnTheirScenarios evaluates each alert's expression with
// Prometheus's engine on series loaded for it (promqltest), at a point
// where every range is full, and compares the series it returns.
func TestAlertsFireOnTheirScenarios(t *testing.T) {
	_, groups, err := RuleGroups(root)
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(groups, &spec); err != nil {
		t.Fatal(err)
	}
	engine := promqltest.NewTestEngine(t, false, 5*time.Minute, promqltest.DefaultMaxSamplesPerQuery)
	seen := map[string]bool{}
	for _, g := range spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			seen[r.Alert] = true
			scenarios, ok := alertScenarios[r.Alert]
			if !ok {
				t.Errorf("alert %s has no scenario in alertScenarios; add one where it fires", r.Alert)
				continue
			}
			for _, s := range scenarios {
				t.Run(r.Alert+"/"+s.name, func(t *testing.T) {
					promqltest.RunTest(t, alertScript(r.Expr, s), engine)
				})
			}
		}
	}
	for name := range alertScenarios {
		if !seen[name] {
			t.Errorf("scenario for %s, which the rules do not define", name)
		}
	}
}

// alertScript is a promqltest script: load the scenario's series one
// sample a minute, evaluate the expression at 20m. Multiplying by 0 keeps
// the returned series and makes every value 0, so only labels are compared.
func alertScript(expr string, s alertScenario) string {
	var b strings.Builder
	b.WriteString("load 1m\n")
	for _, line := range strings.Split(s.series, "\n") {
		b.WriteString("  " + line + "\n")
	}
	b.WriteString("\neval instant at 20m (" + strings.Join(strings.Fields(expr), " ") + ") * 0\n")
	for _, w := range s.want {
		b.WriteString("  " + w + " 0\n")
	}
	return b.String()
}

// TestAlertScenarioCanFail: a scenario that expects the wrong series fails.
func TestAlertScenarioCanFail(t *testing.T) {
	engine := promqltest.NewTestEngine(t, false, 5*time.Minute, promqltest.DefaultMaxSamplesPerQuery)
	script := alertScript(`max by (namespace, gateway) (drawbridge_replicas) == 0`, alertScenario{
		series: `drawbridge_replicas{namespace="a", gateway="g"} 2x30`, want: []string{`{gateway="g", namespace="a"}`},
	})
	ft := &failRecorder{TB: t}
	func() {
		defer func() { _ = recover() }()
		promqltest.RunTest(ft, script, engine)
	}()
	if !ft.failed {
		t.Error("promqltest accepted a scenario whose expected series the expression does not return")
	}
}

// failRecorder turns the failures of a test helper into a flag. Its Fatal
// methods must not return (testing.T's end the goroutine), so they panic,
// and TestAlertScenarioCanFail recovers.
type failRecorder struct {
	testing.TB
	failed bool
}

func (f *failRecorder) Errorf(string, ...any) { f.failed = true }
func (f *failRecorder) Fatalf(string, ...any) { f.failed = true; panic("stop") }
func (f *failRecorder) Fatal(...any)          { f.failed = true; panic("stop") }
func (f *failRecorder) Error(...any)          { f.failed = true }
func (f *failRecorder) FailNow()              { f.failed = true; panic("stop") }
func (f *failRecorder) Fail()                 { f.failed = true }

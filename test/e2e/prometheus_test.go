package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/drawbridge-dev/drawbridge/internal/bundle"
	"github.com/drawbridge-dev/drawbridge/internal/monitoring"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// The Prometheus the spec runs: inside the lab's node network namespace,
// where pod addresses and the apiserver's `kubernetes` Service are
// reachable, listening on that namespace's loopback only.
const (
	promAddr = "127.0.0.1:19090"
	// promInterval is the scrape and rule evaluation interval: short, so
	// that a few intervals fit in a test.
	promInterval = "2s"
	// promRateInterval stands for Grafana's $__rate_interval (at least four
	// scrape intervals, as Grafana computes it).
	promRateInterval = "20s"
	// promLongInterval reaches back over the whole spec, for the check
	// that every quantile has a number.
	promLongInterval = "5m"
	// podTokenFile is where a Prometheus pod finds its ServiceAccount token,
	// the path the operator's ServiceMonitor names.
	podTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	// firingAlert is the alert the spec makes fire, with its `for:`
	// shortened in the spec's copy of the rules.
	firingAlert = "DrawbridgeKong5xxRatioHigh"
	firingFor   = "10s"
)

// emptyWhenHealthy are the dashboard queries (panel id/refId) that have no
// data in a healthy lab, with the reason; every other query must return
// data. The last two get data once the spec sends requests to a route
// without endpoints, and are checked again then.
var emptyWhenHealthy = map[string]string{
	"10/B": "Reconciles started by replica checks: only when a check finds a replica that drifted, which a healthy Gateway's do not",
	"13/A": "Failed, unreachable, rejected and auth_failed pushes: a series exists only once a push of this Gateway ended so, which a healthy Gateway's need not (a push to a replica whose Kong is still starting is unreachable once; its rate is then 0)",
	"14/A": "Kong rejections by entity: Kong rejected nothing for this Gateway, so drawbridge_kong_rejections_total has no series for it",
	"32/B": "5xx made by Kong itself: none in healthy traffic",
	"33/A": "5xx ratio: no 5xx series, so the division has no left-hand side",
}

var _ = Describe("Prometheus", Label("prometheus"), func() {
	It("scrapes the operator and real Kong as the shipped ServiceMonitors say, answers every dashboard query, loads every rule group and fires an alert", func(ctx SpecContext) {
		promBin := os.Getenv("PROMETHEUS")
		Expect(promBin).NotTo(BeEmpty(), "PROMETHEUS names the Prometheus binary (make prometheus builds bin/prometheus; make test passes it)")
		_, err := os.Stat(promBin)
		Expect(err).NotTo(HaveOccurred(), "PROMETHEUS=%s (run make prometheus)", promBin)

		ns := newNamespace(ctx)
		echoBackend(ctx, ns, "echo", 1, corev1.ProtocolTCP, "")
		Expect(applyYAML(ctx, pluginsClass)).To(Succeed())
		Expect(applyYAML(ctx, fmt.Sprintf(`
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web, namespace: %[1]s}
spec:
  gatewayClassName: e2e-plugins
  listeners:
  - {name: http, port: 80, protocol: HTTP}
`, ns))).To(Succeed())
		gw := waitProgrammed(ctx, ns, "web")
		base := "http://" + hostAddr(gw, 80, corev1.ProtocolTCP)
		c := httpClient()

		By("Prometheus gets the token of a ServiceAccount bound to drawbridge-metrics-reader")
		dir := filepath.Join(labDir, "prometheus-"+ns)
		Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
		tokenFile := prometheusToken(ctx, ns, dir)

		By("its scrape configuration is derived from config/monitoring's ServiceMonitors, its rules from the PrometheusRule")
		cfgFile := writePrometheusConfig(dir, tokenFile)
		startPrometheus(promBin, dir, cfgFile)

		By("both ServiceMonitors' targets are up, with the labels the Prometheus Operator gives them")
		metricsSvc := provision.NamesFor(gw).Metrics
		Eventually(func(g Gomega) {
			targets := promTargets(g)
			op := findTarget(targets, "drawbridge-metrics", "drawbridge-system")
			g.Expect(op).NotTo(BeNil(), "no target of the operator's metrics Service; targets: %v", targets)
			g.Expect(op.Health).To(Equal("up"), "operator target: %s", op.LastError)
			g.Expect(op.Labels).To(HaveKeyWithValue("endpoint", "https"))
			g.Expect(op.Labels).To(HaveKeyWithValue("pod", HavePrefix("drawbridge-")))
			kong := findTarget(targets, metricsSvc, ns)
			g.Expect(kong).NotTo(BeNil(), "no target of %s/%s; targets: %v", ns, metricsSvc, targets)
			g.Expect(kong.Health).To(Equal("up"), "Kong target: %s", kong.LastError)
			g.Expect(kong.Labels).To(HaveKeyWithValue("gateway", "web"))
			g.Expect(kong.Labels).To(HaveKeyWithValue("endpoint", provision.MetricsPortName))
		}).WithTimeout(90 * time.Second).WithPolling(2 * time.Second).Should(Succeed())

		By("the HTTPRoute is attached while Prometheus watches: its translation, push and reconciles are scraped")
		Expect(applyYAML(ctx, fmt.Sprintf(`
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: %[1]s}
spec:
  parentRefs: [{name: web}]
  hostnames: [app.example.com]
  rules:
  - backendRefs: [{name: echo, port: 8080}]
`, ns))).To(Succeed())
		eventuallyStatus(c, "GET", base+"/", "app.example.com", nil, nil, http.StatusOK)

		By("bounded traffic: 40 requests through the route, then 4 per check while the dashboard is queried")
		for i := 0; i < 40; i++ {
			code, _, err := send(c, "GET", fmt.Sprintf("%s/p/%d", base, i), "app.example.com", nil, nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(code).To(Equal(http.StatusOK))
		}

		By("the dashboard's variables find this Gateway and the operator's job")
		var job string
		Eventually(func(g Gomega) {
			jobs := labelValues(g, `leader_election_master_status{name="drawbridge.gateway.drawbridge.dev"}`, "job")
			g.Expect(jobs).To(HaveLen(1))
			job = jobs[0]
			g.Expect(labelValues(g, `drawbridge_replicas`, "namespace")).To(ContainElement(ns))
			g.Expect(labelValues(g, fmt.Sprintf(`drawbridge_replicas{namespace=~%q}`, ns), "gateway")).To(ContainElement("web"))
		}).WithTimeout(60 * time.Second).WithPolling(2 * time.Second).Should(Succeed())
		vars := map[string]string{"namespace": ns, "gateway": "web", "job": job, "datasource": "prometheus"}

		By("every dashboard query succeeds, and each one that has data in a healthy lab returns data")
		queries := dashboardQueries(vars, promRateInterval)
		Expect(queries).To(HaveLen(48), "dashboard targets")
		Eventually(func(g Gomega) {
			for i := 0; i < 4; i++ {
				_, _, _ = send(c, "GET", base+"/again", "app.example.com", nil, nil)
			}
			var problems []string
			for _, q := range queries {
				n, err := promQuery(q.expr)
				switch {
				case err != nil:
					problems = append(problems, fmt.Sprintf("%s (%s): %v", q.id, q.title, err))
				case n == 0 && emptyWhenHealthy[q.id] == "":
					problems = append(problems, fmt.Sprintf("%s (%s) has no data: %s", q.id, q.title, q.expr))
				}
			}
			g.Expect(problems).To(BeEmpty())
		}).WithTimeout(2 * time.Minute).WithPolling(3 * time.Second).Should(Succeed())
		for id, why := range emptyWhenHealthy {
			series, err := promSeries(queryByID(queries, id).expr)
			Expect(err).NotTo(HaveOccurred(), id)
			fmt.Fprintf(GinkgoWriter, "dashboard query %s: %d series %v (may be empty: %s)\n", id, len(series), series, why)
		}
		// A series whose value is NaN (a quantile of a histogram that saw
		// nothing in the range) is data Grafana draws as a gap: a quiet
		// Gateway has no push in a 20 s range. Over a range that reaches
		// back to the route's attachment, every query with data must have
		// a number.
		nanOnly := func(qs []dashboardQuery) []string {
			var out []string
			for _, q := range qs {
				series, err := promSeries(q.expr)
				Expect(err).NotTo(HaveOccurred(), q.id)
				if len(series) > 0 && !slices.ContainsFunc(series, func(s string) bool { return !strings.HasSuffix(s, "=NaN") }) {
					out = append(out, q.id+" ("+q.title+")")
				}
			}
			return out
		}
		fmt.Fprintf(GinkgoWriter, "dashboard queries whose every series is NaN over %s: %v\n", promRateInterval, nanOnly(queries))
		// Kong's latency histograms have series from the first request
		// scraped, and a rate only from the next scrape that saw more
		// traffic: a change served quickly can reach this check with one
		// scrape of them behind it.
		Eventually(func() []string {
			for i := 0; i < 4; i++ {
				_, _, _ = send(c, "GET", base+"/again", "app.example.com", nil, nil)
			}
			return nanOnly(dashboardQueries(vars, promLongInterval))
		}).WithTimeout(time.Minute).WithPolling(3*time.Second).Should(BeEmpty(), "dashboard queries whose every series is NaN over %s", promLongInterval)

		By("honorLabels keeps the exporters' namespace and service labels")
		n, err := promQuery(fmt.Sprintf(`kong_http_requests_total{namespace=%q, gateway="web", service!=%q, service!=""}`, ns, metricsSvc))
		Expect(err).NotTo(HaveOccurred())
		Expect(n).To(BeNumerically(">", 0), "Kong's own service label (not the metrics Service's name)")
		n, err = promQuery(`{exported_namespace!=""} or {exported_service!=""}`)
		Expect(err).NotTo(HaveOccurred())
		Expect(n).To(BeZero(), "series with labels renamed exported_*")

		By("every rule group loads and evaluates with health ok; no alert fires or is pending")
		groups := ruleGroupNames()
		Eventually(func(g Gomega) {
			g.Expect(promRuleHealth(g)).To(Equal(groups))
		}).WithTimeout(60 * time.Second).WithPolling(2 * time.Second).Should(Succeed())
		// Alerts about this spec's Gateway must be quiet. Operator-wide
		// ones (labelled with the operator's namespace) also count what
		// the suite's other specs did in the same window, such as their
		// namespaces being torn down, so they are reported, not judged.
		var ours, operatorWide []promAlert
		for _, a := range promAlerts() {
			if a.Labels["namespace"] == ns {
				ours = append(ours, a)
			} else {
				operatorWide = append(operatorWide, a)
			}
		}
		AddReportEntry("operator-wide alerts pending or firing during the spec", operatorWide)
		Expect(ours).To(BeEmpty(), "alerts about this spec's Gateway in the healthy lab")

		By(firingAlert + " fires for real: a route whose Service has no endpoints answers 5xx")
		Expect(applyYAML(ctx, fmt.Sprintf(`
apiVersion: v1
kind: Service
metadata: {name: nobody, namespace: %[1]s}
spec:
  selector: {app: nobody}
  ports: [{name: main, port: 8080, targetPort: 3000}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: broken, namespace: %[1]s}
spec:
  parentRefs: [{name: web}]
  hostnames: [broken.example.com]
  rules:
  - backendRefs: [{name: nobody, port: 8080}]
`, ns))).To(Succeed())
		Eventually(func(g Gomega) {
			code, _, err := send(c, "GET", base+"/", "broken.example.com", nil, nil)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(code).To(BeNumerically(">=", 500))
		}).WithTimeout(60 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		// At most 4 requests a second for 2 minutes: the alert needs more
		// than 0.1 request/s over its 5m window, and 5% of them 5xx.
		Eventually(func(g Gomega) {
			for i := 0; i < 4; i++ {
				_, _, _ = send(c, "GET", base+"/", "broken.example.com", nil, nil)
			}
			g.Expect(promAlerts()).To(ContainElement(And(
				HaveField("Name", firingAlert), HaveField("State", "firing"),
				HaveField("Labels", And(HaveKeyWithValue("namespace", ns), HaveKeyWithValue("gateway", "web"), HaveKeyWithValue("severity", "warning"))),
			)))
		}).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())
		By("the dashboard's 5xx queries have data now")
		for _, id := range []string{"32/B", "33/A"} {
			n, err := promQuery(queryByID(queries, id).expr)
			Expect(err).NotTo(HaveOccurred())
			Expect(n).To(BeNumerically(">", 0), "dashboard query %s once Kong answers 5xx", id)
		}
	}, NodeTimeout(10*time.Minute))
})

// prometheusToken creates ServiceAccount prometheus in ns, binds it to the
// drawbridge-metrics-reader ClusterRole (as the README tells) and writes a
// token of it for Prometheus.
func prometheusToken(ctx context.Context, ns, dir string) string {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "prometheus", Namespace: ns}}
	Expect(k8s.Create(ctx, sa)).To(Succeed())
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-prometheus-" + ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "drawbridge-metrics-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa.Name, Namespace: ns}},
	}
	Expect(k8s.Create(ctx, binding)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) { _ = k8s.Delete(ctx, binding) })
	expiry := int64(3600)
	tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa.Name,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	file := filepath.Join(dir, "token")
	Expect(os.WriteFile(file, []byte(tok.Status.Token), 0o600)).To(Succeed())
	return file
}

// writePrometheusConfig writes prometheus.yml: one scrape job per
// ServiceMonitor endpoint of config/monitoring (as installed into namespace
// monitoring), derived by internal/monitoring, and the PrometheusRule's
// groups as a rule file, with firingAlert's `for:` shortened.
func writePrometheusConfig(dir, tokenFile string) string {
	objs, err := bundle.Kustomize(filepath.Join(repoRoot(), "config", "monitoring"))
	Expect(err).NotTo(HaveOccurred())
	var scrapes []any
	var rule *unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceMonitor":
			o.SetNamespace("monitoring")
			cfgs, err := monitoring.ScrapeConfigs(o, monitoring.ScrapeOptions{
				Kubeconfig: theLab.InKubeconfig, Files: map[string]string{podTokenFile: tokenFile}, Interval: promInterval,
			})
			Expect(err).NotTo(HaveOccurred())
			for _, c := range cfgs {
				scrapes = append(scrapes, c)
			}
		case "PrometheusRule":
			rule = o
		}
	}
	Expect(scrapes).To(HaveLen(2), "scrape jobs from config/monitoring's ServiceMonitors")
	Expect(rule).NotTo(BeNil(), "config/monitoring's PrometheusRule")

	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	shortened := false
	for _, g := range groups {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			if r := r.(map[string]any); r["alert"] == firingAlert {
				r["for"] = firingFor
				shortened = true
			}
		}
	}
	Expect(shortened).To(BeTrue(), "%s is not among the rules", firingAlert)
	rulesFile := filepath.Join(dir, "rules.yml")
	raw, err := yaml.Marshal(map[string]any{"groups": groups})
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(rulesFile, raw, 0o644)).To(Succeed())

	cfg := map[string]any{
		"global": map[string]any{
			"scrape_interval": promInterval, "scrape_timeout": promInterval, "evaluation_interval": promInterval,
		},
		"rule_files":     []any{rulesFile},
		"scrape_configs": scrapes,
	}
	raw, err = yaml.Marshal(cfg)
	Expect(err).NotTo(HaveOccurred())
	file := filepath.Join(dir, "prometheus.yml")
	Expect(os.WriteFile(file, raw, 0o644)).To(Succeed())
	return file
}

// startPrometheus runs Prometheus in the lab's node namespace (nsenter
// execs it, so the child is Prometheus itself) and stops it when the spec
// ends: SIGTERM, then SIGKILL after 30 s, and waits, so nothing is left
// for the suite's Leftovers check.
func startPrometheus(bin, dir, cfgFile string) {
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command("nsenter", "--net="+theLab.NodeNS().Path(), "--", bin,
		"--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr, "--storage.tsdb.retention.time=1h")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	Expect(cmd.Start()).To(Succeed())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	DeferCleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = logFile.Close()
	})
	Eventually(func(g Gomega) {
		select {
		case err := <-done:
			done <- err
			StopTrying(fmt.Sprintf("Prometheus exited: %v (log: %s)", err, logFile.Name())).Now()
		default:
		}
		resp, err := podClient().Get("http://" + promAddr + "/-/ready")
		g.Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	}).WithTimeout(60*time.Second).WithPolling(500*time.Millisecond).Should(Succeed(), "Prometheus ready (log: %s)", logFile.Name())
}

// promGet calls Prometheus's HTTP API and decodes data; an API error is
// an error.
func promGet(path string, params url.Values, data any) error {
	resp, err := podClient().Get("http://" + promAddr + path + "?" + params.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	var env struct {
		Status    string          `json:"status"`
		Data      json.RawMessage `json:"data"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("%s: HTTP %d, not the API's JSON: %.200s", path, resp.StatusCode, body)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s: %s: %s", path, env.ErrorType, env.Error)
	}
	return json.Unmarshal(env.Data, data)
}

// promQuery runs an instant query and returns how many series (or 1 for
// a scalar) it answered.
func promQuery(expr string) (int, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := promGet("/api/v1/query", url.Values{"query": {expr}}, &data); err != nil {
		return 0, err
	}
	if data.ResultType == "scalar" || data.ResultType == "string" {
		return 1, nil
	}
	var series []json.RawMessage
	if err := json.Unmarshal(data.Result, &series); err != nil {
		return 0, err
	}
	return len(series), nil
}

// promSeries runs an instant query and returns each series' labels with
// its value.
func promSeries(expr string) ([]string, error) {
	var data struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
		} `json:"result"`
	}
	if err := promGet("/api/v1/query", url.Values{"query": {expr}}, &data); err != nil {
		return nil, err
	}
	var out []string
	for _, r := range data.Result {
		out = append(out, fmt.Sprintf("%v=%v", r.Metric, r.Value[len(r.Value)-1]))
	}
	return out, nil
}

// labelValues is what a Grafana label_values(selector, label) variable
// lists.
func labelValues(g Gomega, selector, label string) []string {
	var data struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
		} `json:"result"`
	}
	g.Expect(promGet("/api/v1/query", url.Values{"query": {fmt.Sprintf("group by (%s) (%s)", label, selector)}}, &data)).To(Succeed())
	var out []string
	for _, r := range data.Result {
		out = append(out, r.Metric[label])
	}
	sort.Strings(out)
	return out
}

type promTarget struct {
	Labels    map[string]string `json:"labels"`
	Health    string            `json:"health"`
	LastError string            `json:"lastError"`
}

func promTargets(g Gomega) []promTarget {
	var data struct {
		ActiveTargets []promTarget `json:"activeTargets"`
	}
	g.Expect(promGet("/api/v1/targets", url.Values{"state": {"active"}}, &data)).To(Succeed())
	return data.ActiveTargets
}

// findTarget finds the target of a Service by its job (the Service's name,
// as the Prometheus Operator sets it) and namespace.
func findTarget(targets []promTarget, service, ns string) *promTarget {
	for i, t := range targets {
		if t.Labels["job"] == service && t.Labels["namespace"] == ns && t.Labels["service"] == service {
			return &targets[i]
		}
	}
	return nil
}

// promRuleHealth lists the rule groups in which every rule has been
// evaluated with health ok, and fails on a rule whose health is err.
func promRuleHealth(g Gomega) []string {
	var data struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	g.Expect(promGet("/api/v1/rules", url.Values{}, &data)).To(Succeed())
	var ok []string
	for _, grp := range data.Groups {
		all := len(grp.Rules) > 0
		for _, r := range grp.Rules {
			if r.Health == "err" {
				StopTrying(fmt.Sprintf("rule %s in group %s: %s", r.Name, grp.Name, r.LastError)).Now()
			}
			all = all && r.Health == "ok"
		}
		if all {
			ok = append(ok, grp.Name)
		}
	}
	sort.Strings(ok)
	return ok
}

// ruleGroupNames are config/monitoring's rule groups, sorted.
func ruleGroupNames() []string {
	raw, err := os.ReadFile(filepath.Join(repoRoot(), "config", "monitoring", "prometheus-rule.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var rule struct {
		Spec struct {
			Groups []struct {
				Name string `json:"name"`
			} `json:"groups"`
		} `json:"spec"`
	}
	Expect(yaml.Unmarshal(raw, &rule)).To(Succeed())
	var names []string
	for _, g := range rule.Spec.Groups {
		names = append(names, g.Name)
	}
	sort.Strings(names)
	return names
}

type promAlert struct {
	Name   string
	State  string
	Labels map[string]string
}

// promAlerts lists the pending and firing alerts.
func promAlerts() []promAlert {
	var data struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	Expect(promGet("/api/v1/alerts", url.Values{}, &data)).To(Succeed())
	var out []promAlert
	for _, a := range data.Alerts {
		out = append(out, promAlert{Name: a.Labels["alertname"], State: a.State, Labels: a.Labels})
	}
	return out
}

type dashboardQuery struct {
	id, title, expr string
}

// grafanaVariableRE matches $name, ${name}, ${name:format} and [[name]].
var grafanaVariableRE = regexp.MustCompile(`\$\{(\w+)(?:[.:][^}]*)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]`)

// grafanaBuiltins are Grafana's interval and range variables, replaced by
// ranges that suit a 2 s scrape interval ($__rate_interval is a parameter
// of dashboardQueries).
var grafanaBuiltins = map[string]string{
	"__rate_interval": promRateInterval, "__interval": "10s", "interval": "10s", "__range": "5m",
	"__range_s": "300", "__range_ms": "300000", "__interval_ms": "10000",
}

// dashboardQueries reads every query of the dashboard (panels in rows
// included) with its variables replaced as Grafana does before it sends
// them; a variable that is not defined fails.
func dashboardQueries(vars map[string]string, rateInterval string) []dashboardQuery {
	raw, err := os.ReadFile(filepath.Join(repoRoot(), "config", "monitoring", "grafana-dashboard.json"))
	Expect(err).NotTo(HaveOccurred())
	type panel struct {
		ID      int     `json:"id"`
		Title   string  `json:"title"`
		Panels  []panel `json:"panels"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	}
	var d struct {
		Panels []panel `json:"panels"`
	}
	Expect(json.Unmarshal(raw, &d)).To(Succeed())
	var out []dashboardQuery
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				expr := grafanaVariableRE.ReplaceAllStringFunc(t.Expr, func(m string) string {
					sub := grafanaVariableRE.FindStringSubmatch(m)
					name := sub[1] + sub[2] + sub[3]
					if regexp.MustCompile(`^[0-9]+$`).MatchString(name) {
						return m // a label_replace group reference
					}
					if name == "__rate_interval" {
						return rateInterval
					}
					if v, ok := grafanaBuiltins[name]; ok {
						return v
					}
					v, ok := vars[name]
					Expect(ok).To(BeTrue(), "panel %d uses variable %s, which the spec does not set", p.ID, name)
					return v
				})
				out = append(out, dashboardQuery{id: fmt.Sprintf("%d/%s", p.ID, t.RefID), title: p.Title, expr: expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for id := range emptyWhenHealthy {
		Expect(slices.ContainsFunc(out, func(q dashboardQuery) bool { return q.id == id })).To(BeTrue(), "exception %s names no dashboard query", id)
	}
	return out
}

func queryByID(qs []dashboardQuery, id string) dashboardQuery {
	for _, q := range qs {
		if q.id == id {
			return q
		}
	}
	Fail("no dashboard query " + id)
	return dashboardQuery{}
}

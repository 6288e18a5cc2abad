package chart

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/drawbridge-dev/drawbridge/internal/bundle"
	"github.com/drawbridge-dev/drawbridge/internal/lab"
)

const root = "../.."

func options(t *testing.T, r string) Options {
	t.Helper()
	crds, err := GatewayAPICRDDir(root)
	if err != nil {
		t.Fatal(err)
	}
	return Options{Root: r, Version: "0.1.0", GatewayAPICRDs: crds}
}

// TestCommittedChartIsFresh regenerates the chart and compares it, file by
// file, with charts/drawbridge as committed.
func TestCommittedChartIsFresh(t *testing.T) {
	want, err := Generate(options(t, root))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Read(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range want.Paths() {
		if _, ok := got[p]; !ok {
			t.Errorf("%s is missing from the committed chart", p)
		} else if !bytes.Equal(got[p], want[p]) {
			t.Errorf("%s is stale", p)
		}
	}
	for _, p := range got.Paths() {
		if _, ok := want[p]; !ok {
			t.Errorf("%s is committed but no longer generated", p)
		}
	}
	if t.Failed() {
		t.Log("regenerate with: make chart")
	}
}

// TestValuesAreDocumented checks that every value in values.yaml has a row
// in the README's values table.
func TestValuesAreDocumented(t *testing.T) {
	files, err := Generate(options(t, root))
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(files[filepath.Join(Dir, "values.yaml")], &values); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, d := range ValueDocs {
		keys := strings.Split(d.Key, ", ")
		prefix := keys[0][:strings.LastIndex(keys[0], ".")+1]
		for _, k := range keys {
			if strings.HasPrefix(k, ".") {
				k = prefix + k[1:]
			}
			documented[k] = true
		}
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		if documented[path] {
			return
		}
		m, ok := v.(map[string]any)
		if !ok || len(m) == 0 {
			t.Errorf("value %s is not in ValueDocs (the README's values table)", path)
			return
		}
		for k, child := range m {
			walk(strings.TrimPrefix(path+"."+k, "."), child)
		}
	}
	walk("", values)
}

func TestNameExprRefusesForeignNames(t *testing.T) {
	if _, err := nameExpr("kube-system-reader"); err == nil {
		t.Error("a config/ name without the drawbridge- prefix was accepted")
	}
	if got, _ := nameExpr("drawbridge-metrics"); got != fullnameExpr+"-metrics" {
		t.Errorf("nameExpr(drawbridge-metrics) = %q", got)
	}
}

// helmBinary is bin/helm from HELM, which `make test` always sets (and
// builds); a plain `go test` skips the rendering tests.
func helmBinary(t *testing.T) string {
	t.Helper()
	h := os.Getenv("HELM")
	if h == "" {
		t.Skip("the Helm rendering tests run under `make test` (HELM=bin/helm, built by `make helm`)")
	}
	if _, err := os.Stat(h); err != nil {
		t.Fatalf("HELM=%s: %v (run `make helm`)", h, err)
	}
	return h
}

func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home, "HELM_CONTENT_CACHE="+home)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	if err != nil {
		return out.String() + stderr.String(), err
	}
	return out.String(), nil
}

// render runs helm template (CRDs included) and parses the objects.
func render(t *testing.T, chartDir string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := runHelm(t, append([]string{"template", "rel", chartDir, "--namespace", "gw-ns", "--include-crds"}, args...)...)
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", args, err, out)
	}
	objs, err := lab.ParseYAML([]byte(out))
	if err != nil {
		t.Fatalf("parse helm template output: %v", err)
	}
	return objs
}

func renderFails(t *testing.T, chartDir, wantMsg string, args ...string) {
	t.Helper()
	out, err := runHelm(t, append([]string{"template", "rel", chartDir, "--namespace", "gw-ns"}, args...)...)
	if err == nil {
		t.Errorf("helm template %v succeeded; want an error saying %q", args, wantMsg)
	} else if !strings.Contains(out, wantMsg) {
		t.Errorf("helm template %v failed without saying %q:\n%s", args, wantMsg, out)
	}
}

// sameJSON compares two decoded objects by their JSON, since YAML
// decoders differ in the Go types of numbers.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func must(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	o := find(objs, kind, name)
	if o == nil {
		var have []string
		for _, o := range objs {
			have = append(have, o.GetKind()+"/"+o.GetName())
		}
		t.Fatalf("no %s %s rendered; have %v", kind, name, have)
	}
	return o
}

func managerContainer(t *testing.T, dep *unstructured.Unstructured) map[string]any {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		if m := c.(map[string]any); m["name"] == bundle.ManagerContainer {
			return m
		}
	}
	t.Fatal("no manager container")
	return nil
}

// gatewayAPICRDs counts rendered Gateway API CRDs by channel annotation.
func gatewayAPICRDs(objs []*unstructured.Unstructured) map[string]int {
	n := map[string]int{}
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" && strings.HasSuffix(o.GetName(), ".gateway.networking.k8s.io") {
			n[o.GetAnnotations()["gateway.networking.k8s.io/channel"]]++
		}
	}
	return n
}

func TestHelmLintAndDefaults(t *testing.T) {
	chartDir := filepath.Join(root, Dir)
	if out, err := runHelm(t, "lint", "--strict", chartDir); err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
	objs := render(t, chartDir)
	cfg, err := bundle.Kustomize(filepath.Join(root, defaultConfig))
	if err != nil {
		t.Fatal(err)
	}

	dep := must(t, objs, "Deployment", "rel-drawbridge")
	if dep.GetNamespace() != "gw-ns" {
		t.Errorf("Deployment namespace %q, want the release namespace", dep.GetNamespace())
	}
	if r, _, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas"); r != 1 {
		t.Errorf("replicas %d, want 1", r)
	}
	c := managerContainer(t, dep)
	if c["image"] != DefaultImageRepository+":v0.1.0" {
		t.Errorf("image %v, want the appVersion tag", c["image"])
	}
	// What config/ says about the container arrives unchanged.
	cc := managerContainer(t, must(t, cfg, "Deployment", bundle.OperatorName))
	for _, k := range []string{"livenessProbe", "readinessProbe", "securityContext", "ports", "env", "resources"} {
		if !sameJSON(c[k], cc[k]) {
			t.Errorf("container %s differs from config/: %v vs %v", k, c[k], cc[k])
		}
	}
	args, _ := json.Marshal(c["args"])
	wantArgs, _ := json.Marshal(append(cc["args"].([]any), "--operator-pod-labels=app.kubernetes.io/name=drawbridge,app.kubernetes.io/instance=rel"))
	if string(args) != string(wantArgs) {
		t.Errorf("args %s, want config/'s plus the pod labels: %s", args, wantArgs)
	}
	podSC, _, _ := unstructured.NestedMap(dep.Object, "spec", "template", "spec", "securityContext")
	cfgSC, _, _ := unstructured.NestedMap(must(t, cfg, "Deployment", bundle.OperatorName).Object, "spec", "template", "spec", "securityContext")
	if !sameJSON(podSC, cfgSC) {
		t.Errorf("pod securityContext %v, config/ has %v", podSC, cfgSC)
	}
	if l := dep.GetLabels(); l["helm.sh/chart"] != "drawbridge-0.1.0" || l["app.kubernetes.io/instance"] != "rel" || l["app.kubernetes.io/managed-by"] != "Helm" {
		t.Errorf("Deployment labels %v lack the Helm labels", l)
	}

	// RBAC rules are config/'s, bound to the release's account.
	for _, o := range cfg {
		switch o.GetKind() {
		case "ClusterRole", "Role":
			got := must(t, objs, o.GetKind(), "rel-"+o.GetName())
			if !sameJSON(got.Object["rules"], o.Object["rules"]) {
				t.Errorf("%s %s rules differ from config/", o.GetKind(), o.GetName())
			}
		case "ClusterRoleBinding", "RoleBinding":
			got := must(t, objs, o.GetKind(), "rel-"+o.GetName())
			subjects, _, _ := unstructured.NestedSlice(got.Object, "subjects")
			s := subjects[0].(map[string]any)
			if s["name"] != "rel-drawbridge" || s["namespace"] != "gw-ns" {
				t.Errorf("%s %s binds %v, want ServiceAccount gw-ns/rel-drawbridge", o.GetKind(), o.GetName(), s)
			}
		case "CustomResourceDefinition":
			got := must(t, objs, "CustomResourceDefinition", o.GetName())
			if !sameJSON(got.Object["spec"], o.Object["spec"]) {
				t.Errorf("CRD %s differs from config/crd", o.GetName())
			}
		}
	}
	must(t, objs, "ServiceAccount", "rel-drawbridge")
	svc := must(t, objs, "Service", "rel-drawbridge-metrics")
	if p, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports"); p[0].(map[string]any)["port"] != int64(8443) {
		t.Errorf("metrics port %v, want config/'s 8443", p[0])
	}
	class := must(t, objs, "GatewayClass", "drawbridge")
	if ref, _, _ := unstructured.NestedStringMap(class.Object, "spec", "parametersRef"); ref["name"] != "drawbridge-defaults" || ref["namespace"] != "gw-ns" {
		t.Errorf("GatewayClass parametersRef %v", ref)
	}
	gc := must(t, objs, "GatewayConfiguration", "drawbridge-defaults")
	if img, _, _ := unstructured.NestedString(gc.Object, "spec", "dataPlane", "image"); img != bundle.DefaultKongImage {
		t.Errorf("GatewayConfiguration image %q", img)
	}
	if n := gatewayAPICRDs(objs); len(n) != 0 {
		t.Errorf("Gateway API CRDs rendered by default: %v", n)
	}
	for _, kind := range []string{"PrometheusRule", "ServiceMonitor", "ConfigMap", "Namespace"} {
		for _, o := range objs {
			if o.GetKind() == kind {
				t.Errorf("%s %s rendered by default", kind, o.GetName())
			}
		}
	}
}

func TestHelmValueSwitches(t *testing.T) {
	chartDir := filepath.Join(root, Dir)
	if n := gatewayAPICRDs(render(t, chartDir, "--set", "gatewayAPI.installCRDs=true")); n["standard"] < 10 || len(n) != 1 {
		t.Errorf("installCRDs: Gateway API CRDs by channel %v, want the standard channel only", n)
	}
	objs := render(t, chartDir, "--set", "gatewayAPI.installExperimentalCRDs=true")
	if n := gatewayAPICRDs(objs); n["experimental"] < 10 || len(n) != 1 {
		t.Errorf("installExperimentalCRDs: Gateway API CRDs by channel %v, want the experimental channel only", n)
	}
	must(t, objs, "ValidatingAdmissionPolicy", "safe-upgrades.gateway.networking.k8s.io")
	renderFails(t, chartDir, "exclusive", "--set", "gatewayAPI.installCRDs=true", "--set", "gatewayAPI.installExperimentalCRDs=true", "--skip-schema-validation")
	renderFails(t, chartDir, "at '/gatewayAPI'", "--set", "gatewayAPI.installCRDs=true", "--set", "gatewayAPI.installExperimentalCRDs=true")

	objs = render(t, chartDir, "--set", "leaderElection.enabled=false")
	if args := managerContainer(t, must(t, objs, "Deployment", "rel-drawbridge"))["args"].([]any); slices.Contains(args, any("--leader-elect")) {
		t.Errorf("leaderElection.enabled=false still passes --leader-elect: %v", args)
	}
	renderFails(t, chartDir, "leaderElection.enabled=false needs replicaCount 1", "--set", "leaderElection.enabled=false", "--set", "replicaCount=2")
	renderFails(t, chartDir, "serviceAccount.name is required", "--set", "serviceAccount.create=false")
	renderFails(t, chartDir, "pullPolicy", "--set", "image.pullPolicy=Sometimes")

	objs = render(t, chartDir, "--set", "gatewayClass.create=false", "--set", "gatewayConfiguration.create=false", "--set", "metrics.service.enabled=false",
		"--set", "serviceAccount.create=false", "--set", "serviceAccount.name=existing")
	for _, kind := range []string{"GatewayClass", "GatewayConfiguration", "Service", "ServiceAccount"} {
		for _, o := range objs {
			if o.GetKind() == kind {
				t.Errorf("%s %s rendered though switched off", kind, o.GetName())
			}
		}
	}
	if sa, _, _ := unstructured.NestedString(must(t, objs, "Deployment", "rel-drawbridge").Object, "spec", "template", "spec", "serviceAccountName"); sa != "existing" {
		t.Errorf("serviceAccountName %q, want the existing account", sa)
	}

	// The committed chart says why a monitoring option it was generated
	// without cannot be turned on.
	for value, file := range map[string]string{"prometheusRule": PrometheusRuleFile, "dashboard": DashboardFile, "serviceMonitor": "servicemonitor-operator.yaml"} {
		if _, err := os.Stat(filepath.Join(root, MonitoringDir, file)); err == nil {
			continue
		}
		renderFails(t, chartDir, "generated without "+MonitoringDir+"/"+file, "--set", "metrics."+value+".enabled=true")
	}
}

const fixtureRule = `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: drawbridge
  labels:
    app.kubernetes.io/name: drawbridge
spec:
  groups:
  - name: drawbridge
    rules:
    - alert: DrawbridgeGatewayNotProgrammed
      expr: drawbridge_gateway_programmed == 0
      for: 10m
      annotations:
        summary: Gateway {{ $labels.namespace }}/{{ $labels.gateway }} is not programmed
`

const fixtureDashboard = `{"title": "Drawbridge", "panels": [{"type": "timeseries", "title": "Pushes", "targets": [{"expr": "sum by (gateway) (rate(drawbridge_pushes_total[5m]))", "legendFormat": "{{gateway}}"}]}]}
`

// copyDir copies a directory tree of small files.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMonitoringAndEveryValue generates a chart from a copy of config/
// with fixture monitoring files and renders it with a values file that
// sets every option.
func TestMonitoringAndEveryValue(t *testing.T) {
	tmp := t.TempDir()
	copyDir(t, filepath.Join(root, "config"), filepath.Join(tmp, "config"))
	mon := filepath.Join(tmp, MonitoringDir)
	if err := os.MkdirAll(mon, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mon, PrometheusRuleFile), []byte(fixtureRule), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mon, DashboardFile), []byte(fixtureDashboard), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := Generate(options(t, tmp))
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(tmp, files); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(files[filepath.Join(Dir, "README.md")]), "PrometheusRule, ServiceMonitors and Grafana dashboard") {
		t.Error("the chart README does not name the monitoring objects it has")
	}
	chartDir := filepath.Join(tmp, Dir)
	helmBinary(t)

	for _, o := range render(t, chartDir) {
		if o.GetKind() == "PrometheusRule" || o.GetKind() == "ConfigMap" || o.GetKind() == "ServiceMonitor" {
			t.Errorf("%s %s rendered with the monitoring values off", o.GetKind(), o.GetName())
		}
	}

	values := filepath.Join("testdata", "all-values.yaml")
	if out, err := runHelm(t, "lint", "--strict", chartDir, "-f", values); err != nil {
		t.Fatalf("helm lint -f %s: %v\n%s", values, err, out)
	}
	objs := render(t, chartDir, "-f", values)

	rule := must(t, objs, "PrometheusRule", "edge")
	if rule.GetNamespace() != "gw-ns" || rule.GetLabels()["release"] != "prometheus" || rule.GetLabels()["team"] != "platform" {
		t.Errorf("PrometheusRule metadata %v %v", rule.GetNamespace(), rule.GetLabels())
	}
	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	summary := groups[0].(map[string]any)["rules"].([]any)[0].(map[string]any)["annotations"].(map[string]any)["summary"]
	if summary != "Gateway {{ $labels.namespace }}/{{ $labels.gateway }} is not programmed" {
		t.Errorf("the rule's own template text did not survive Helm: %q", summary)
	}
	// The operator's monitor selects this release's metrics Service in the
	// release namespace; the data planes' one every namespace.
	sm := must(t, objs, "ServiceMonitor", "edge")
	if sm.GetNamespace() != "gw-ns" || sm.GetLabels()["release"] != "prometheus" || sm.GetLabels()["team"] != "platform" {
		t.Errorf("operator ServiceMonitor metadata %v %v", sm.GetNamespace(), sm.GetLabels())
	}
	svcLabels := must(t, objs, "Service", "edge-metrics").GetLabels()
	sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	for k, v := range sel {
		if svcLabels[k] != v {
			t.Errorf("operator ServiceMonitor selects %s=%s; the metrics Service has labels %v", k, v, svcLabels)
		}
	}
	if sel["app.kubernetes.io/instance"] != "rel" {
		t.Errorf("operator ServiceMonitor selector %v does not name the release", sel)
	}
	if names, _, _ := unstructured.NestedStringSlice(sm.Object, "spec", "namespaceSelector", "matchNames"); !slices.Equal(names, []string{"gw-ns"}) {
		t.Errorf("operator ServiceMonitor namespaces %v, want the release namespace", names)
	}
	planes := must(t, objs, "ServiceMonitor", "edge-data-planes")
	if anyNS, _, _ := unstructured.NestedBool(planes.Object, "spec", "namespaceSelector", "any"); !anyNS || planes.GetLabels()["release"] != "prometheus" {
		t.Errorf("data-plane ServiceMonitor %v", planes.Object)
	}
	cm := must(t, objs, "ConfigMap", "edge-grafana-dashboard")
	if l := cm.GetLabels(); l["grafana_dashboard"] != "1" || l["dashboards"] != "edge" {
		t.Errorf("dashboard ConfigMap labels %v", l)
	}
	if cm.GetAnnotations()["grafana_folder"] != "Gateways" {
		t.Errorf("dashboard ConfigMap annotations %v", cm.GetAnnotations())
	}
	if data, _, _ := unstructured.NestedString(cm.Object, "data", "drawbridge.json"); data != strings.TrimSpace(fixtureDashboard) {
		t.Errorf("dashboard JSON %q, want the fixture", data)
	}

	dep := must(t, objs, "Deployment", "edge")
	c := managerContainer(t, dep)
	if c["image"] != "registry.example.com/drawbridge:v9.9.9" || c["imagePullPolicy"] != "Always" {
		t.Errorf("image %v %v", c["image"], c["imagePullPolicy"])
	}
	if !slices.Contains(c["args"].([]any), any("--leader-elect")) || !slices.Contains(c["args"].([]any), any("--operator-pod-labels=app.kubernetes.io/name=gw-operator,app.kubernetes.io/instance=rel")) {
		t.Errorf("args %v", c["args"])
	}
	if cpu, _, _ := unstructured.NestedString(c, "resources", "requests", "cpu"); cpu != "50m" {
		t.Errorf("resources %v", c["resources"])
	}
	spec := dep.Object["spec"].(map[string]any)
	pod := spec["template"].(map[string]any)["spec"].(map[string]any)
	tmeta := spec["template"].(map[string]any)["metadata"].(map[string]any)
	checks := map[string]bool{
		"replicas":          spec["replicas"] == int64(3),
		"serviceAccount":    pod["serviceAccountName"] == "edge-operator",
		"nodeSelector":      reflect.DeepEqual(pod["nodeSelector"], map[string]any{"kubernetes.io/os": "linux"}),
		"tolerations":       len(pod["tolerations"].([]any)) == 1,
		"affinity":          pod["affinity"] != nil,
		"imagePullSecrets":  len(pod["imagePullSecrets"].([]any)) == 1,
		"priorityClassName": pod["priorityClassName"] == "system-cluster-critical",
		"podAnnotations":    tmeta["annotations"].(map[string]any)["example.com/scrape"] == "yes",
		"podLabels":         tmeta["labels"].(map[string]any)["tier"] == "control",
		"selector name":     spec["selector"].(map[string]any)["matchLabels"].(map[string]any)["app.kubernetes.io/name"] == "gw-operator",
	}
	for what, ok := range checks {
		if !ok {
			t.Errorf("all-values: %s did not arrive in the Deployment", what)
		}
	}
	sa := must(t, objs, "ServiceAccount", "edge-operator")
	if sa.GetAnnotations()["example.com/role"] != "operator" {
		t.Errorf("ServiceAccount annotations %v", sa.GetAnnotations())
	}
	svc := must(t, objs, "Service", "edge-metrics")
	if p, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports"); p[0].(map[string]any)["port"] != int64(9443) {
		t.Errorf("metrics port %v", p[0])
	}
	class := must(t, objs, "GatewayClass", "edge")
	if ref, _, _ := unstructured.NestedStringMap(class.Object, "spec", "parametersRef"); ref["name"] != "edge-defaults" {
		t.Errorf("GatewayClass parametersRef %v", ref)
	}
	gc := must(t, objs, "GatewayConfiguration", "edge-defaults")
	if typ, _, _ := unstructured.NestedString(gc.Object, "spec", "service", "type"); typ != "NodePort" {
		t.Errorf("GatewayConfiguration spec %v", gc.Object["spec"])
	}
	if n := gatewayAPICRDs(objs); n["experimental"] == 0 || n["standard"] != 0 {
		t.Errorf("Gateway API CRDs by channel %v, want experimental", n)
	}
	must(t, objs, "ClusterRole", "edge-manager")
}

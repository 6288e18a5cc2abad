package bundle

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestBundleShipsMonitoring: the bundle carries the alert rules, the
// Grafana dashboard and the ServiceMonitors of config/monitoring, without a namespace (OLM installs
// them next to the operator), the dashboard in a ConfigMap that Grafana's
// sidecar picks up by its label. Both kinds are in the list of kinds OLM
// installs from a bundle (operator-registry's supported resources).
func TestBundleShipsMonitoring(t *testing.T) {
	root := repoRoot(t)
	files, err := Generate(Options{Root: root, Version: "0.1.0", Image: "ghcr.io/drawbridge-dev/drawbridge:v0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) *unstructured.Unstructured {
		t.Helper()
		b, ok := files[filepath.Join(manifestsDir, name)]
		if !ok {
			t.Fatalf("the bundle has no %s", name)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(b, &obj.Object); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if obj.GetNamespace() != "" {
			t.Errorf("%s sets namespace %s; OLM chooses it", name, obj.GetNamespace())
		}
		return obj
	}

	rule := read("drawbridge_monitoring.coreos.com_v1_prometheusrule.yaml")
	if rule.GetKind() != "PrometheusRule" || rule.GetName() != "drawbridge" {
		t.Errorf("want PrometheusRule drawbridge, found %s %s", rule.GetKind(), rule.GetName())
	}
	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	if len(groups) == 0 {
		t.Error("the bundled PrometheusRule has no rule groups")
	}

	cm := read("drawbridge-grafana-dashboard_v1_configmap.yaml")
	if cm.GetKind() != "ConfigMap" || cm.GetLabels()["grafana_dashboard"] != "1" {
		t.Errorf("want a ConfigMap labelled grafana_dashboard: \"1\", found %s with labels %v", cm.GetKind(), cm.GetLabels())
	}
	want, err := os.ReadFile(filepath.Join(root, "config/monitoring/grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	if data["drawbridge.json"] != string(want) {
		t.Errorf("the ConfigMap's drawbridge.json differs from config/monitoring/grafana-dashboard.json (keys %v)", keys(data))
	}
	// The operator's monitor follows the operator into OLM's namespace (no
	// namespaceSelector: its own); the data planes' one watches every
	// namespace, where Gateways live.
	operator := read("drawbridge_monitoring.coreos.com_v1_servicemonitor.yaml")
	if operator.GetKind() != "ServiceMonitor" {
		t.Errorf("want ServiceMonitor drawbridge, found %s", operator.GetKind())
	}
	if sel, found, _ := unstructured.NestedMap(operator.Object, "spec", "namespaceSelector"); found {
		t.Errorf("the operator's ServiceMonitor keeps namespaceSelector %v; in a bundle it must watch its own namespace", sel)
	}
	eps, _, _ := unstructured.NestedSlice(operator.Object, "spec", "endpoints")
	if len(eps) != 1 || eps[0].(map[string]any)["port"] != "https" || eps[0].(map[string]any)["scheme"] != "https" {
		t.Errorf("the operator's ServiceMonitor endpoints %v, want port https over https", eps)
	}
	planes := read("drawbridge-data-planes_monitoring.coreos.com_v1_servicemonitor.yaml")
	if anyNS, _, _ := unstructured.NestedBool(planes.Object, "spec", "namespaceSelector", "any"); !anyNS {
		t.Error("the data planes' ServiceMonitor does not select every namespace")
	}
	for _, kind := range []string{"PrometheusRule", "ConfigMap", "ServiceMonitor"} {
		if !supportedExtra[kind] {
			t.Errorf("%s is not among the kinds the generator ships", kind)
		}
	}
}

// TestBundleWithoutMonitoring: --monitoring=false gives a bundle that OLM
// installs on clusters without the Prometheus Operator's CRDs.
func TestBundleWithoutMonitoring(t *testing.T) {
	files, err := Generate(Options{Root: repoRoot(t), Version: "0.1.0", Image: "ghcr.io/drawbridge-dev/drawbridge:v0.1.0", WithoutMonitoring: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"drawbridge_monitoring.coreos.com_v1_prometheusrule.yaml", "drawbridge-grafana-dashboard_v1_configmap.yaml",
		"drawbridge_monitoring.coreos.com_v1_servicemonitor.yaml", "drawbridge-data-planes_monitoring.coreos.com_v1_servicemonitor.yaml"} {
		if _, ok := files[filepath.Join(manifestsDir, name)]; ok {
			t.Errorf("the bundle without monitoring still has %s", name)
		}
	}
	if _, ok := files[filepath.Join(manifestsDir, PackageName+".clusterserviceversion.yaml")]; !ok {
		t.Error("the bundle without monitoring has no CSV")
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestServiceMonitorNamespaceSelector: a monitor that names a namespace
// other than the operator's cannot follow the operator under OLM.
func TestServiceMonitorNamespaceSelector(t *testing.T) {
	sm := func(sel map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"kind": "ServiceMonitor", "metadata": map[string]any{"name": "m"},
			"spec": map[string]any{"namespaceSelector": sel}}}
	}
	own := sm(map[string]any{"matchNames": []any{"drawbridge-system"}})
	if err := sameNamespaceSelector(own, "drawbridge-system"); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := unstructured.NestedMap(own.Object, "spec", "namespaceSelector"); found {
		t.Error("the operator's namespace was not dropped")
	}
	anyNS := sm(map[string]any{"any": true})
	if err := sameNamespaceSelector(anyNS, "drawbridge-system"); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := unstructured.NestedBool(anyNS.Object, "spec", "namespaceSelector", "any"); !v {
		t.Error("any: true was dropped")
	}
	if err := sameNamespaceSelector(sm(map[string]any{"matchNames": []any{"monitoring"}}), "drawbridge-system"); err == nil {
		t.Error("a monitor of namespace monitoring was accepted")
	}
}

package bundle

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestBundleShipsMonitoring: the bundle carries the alert rules and the
// Grafana dashboard of config/monitoring, without a namespace (OLM installs
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
	for _, kind := range []string{"PrometheusRule", "ConfigMap"} {
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
	for _, name := range []string{"drawbridge_monitoring.coreos.com_v1_prometheusrule.yaml", "drawbridge-grafana-dashboard_v1_configmap.yaml"} {
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

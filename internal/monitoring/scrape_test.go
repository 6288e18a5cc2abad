package monitoring

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func readMonitor(t *testing.T, file string) *unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "monitoring", file))
	if err != nil {
		t.Fatal(err)
	}
	sm := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(raw, &sm.Object); err != nil {
		t.Fatal(err)
	}
	sm.SetNamespace("monitoring")
	return sm
}

// relabelsTo finds the relabeling that writes target (the last one wins in
// Prometheus, so the last is returned).
func relabelsTo(cfg map[string]any, target string) map[string]any {
	var found map[string]any
	for _, r := range cfg["relabel_configs"].([]any) {
		if m := r.(map[string]any); m["target_label"] == target {
			found = m
		}
	}
	return found
}

const podToken = "/var/run/secrets/kubernetes.io/serviceaccount/token"

func TestScrapeConfigOfTheOperatorMonitor(t *testing.T) {
	cfgs, err := ScrapeConfigs(readMonitor(t, "servicemonitor-operator.yaml"), ScrapeOptions{
		Kubeconfig: "/lab/kubeconfig", Files: map[string]string{podToken: "/lab/token"}, Interval: "2s"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) != 1 {
		t.Fatalf("%d scrape configs, want 1", len(cfgs))
	}
	c := cfgs[0]
	for k, want := range map[string]any{
		"job_name": "serviceMonitor/monitoring/drawbridge/0", "honor_labels": true, "scheme": "https",
		"metrics_path": "/metrics", "bearer_token_file": "/lab/token", "scrape_interval": "2s",
	} {
		if c[k] != want {
			t.Errorf("%s = %v, want %v", k, c[k], want)
		}
	}
	if tls := c["tls_config"].(map[string]any); tls["insecure_skip_verify"] != true {
		t.Errorf("tls_config %v", tls)
	}
	sd := c["kubernetes_sd_configs"].([]any)[0].(map[string]any)
	if sd["role"] != "endpoints" || sd["kubeconfig_file"] != "/lab/kubeconfig" {
		t.Errorf("kubernetes_sd_configs %v", sd)
	}
	if names := sd["namespaces"].(map[string]any)["names"].([]any); len(names) != 1 || names[0] != "drawbridge-system" {
		t.Errorf("discovery namespaces %v, want the operator's", names)
	}
	first := c["relabel_configs"].([]any)[0].(map[string]any)
	if first["action"] != "keep" || first["regex"] != "(operator);true" ||
		first["source_labels"].([]any)[0] != "__meta_kubernetes_service_label_app_kubernetes_io_component" {
		t.Errorf("first relabeling %v, want the keep on the Service label app.kubernetes.io/component", first)
	}
	if r := relabelsTo(c, "job"); r["source_labels"].([]any)[0] != "__meta_kubernetes_service_name" {
		t.Errorf("job relabeling %v, want the Service name", r)
	}
	if r := relabelsTo(c, "endpoint"); r["replacement"] != "https" {
		t.Errorf("endpoint relabeling %v, want the port name", r)
	}
	for _, l := range []string{"namespace", "service", "pod", "container", "node"} {
		if relabelsTo(c, l) == nil {
			t.Errorf("no relabeling writes %s", l)
		}
	}
}

func TestScrapeConfigOfTheDataPlaneMonitor(t *testing.T) {
	cfgs, err := ScrapeConfigs(readMonitor(t, "servicemonitor-data-planes.yaml"), ScrapeOptions{Interval: "2s"})
	if err != nil {
		t.Fatal(err)
	}
	c := cfgs[0]
	if c["honor_labels"] != true || c["scheme"] != nil || c["bearer_token_file"] != nil {
		t.Errorf("scrape config %v, want plain HTTP with honor_labels", c)
	}
	if sd := c["kubernetes_sd_configs"].([]any)[0].(map[string]any); sd["namespaces"] != nil {
		t.Errorf("discovery limited to %v; the monitor selects any namespace", sd["namespaces"])
	}
	rs := c["relabel_configs"].([]any)
	last := rs[len(rs)-1].(map[string]any)
	if last["target_label"] != "gateway" || last["source_labels"].([]any)[0] != "__meta_kubernetes_service_label_gateway_networking_k8s_io_gateway_name" {
		t.Errorf("last relabeling %v, want the monitor's own gateway relabeling after the generated ones", last)
	}
}

func TestScrapeConfigRefusesWhatItDoesNotDerive(t *testing.T) {
	for name, edit := range map[string]func(sm *unstructured.Unstructured){
		"a spec field": func(sm *unstructured.Unstructured) {
			sm.Object["spec"].(map[string]any)["targetLabels"] = []any{"team"}
		},
		"an endpoint field": func(sm *unstructured.Unstructured) { endpoint(sm)["oauth2"] = map[string]any{} },
		"a TLS CA": func(sm *unstructured.Unstructured) {
			endpoint(sm)["tlsConfig"].(map[string]any)["ca"] = map[string]any{}
		},
		"a relabeling field": func(sm *unstructured.Unstructured) { endpoint(sm)["relabelings"] = []any{map[string]any{"foo": "bar"}} },
	} {
		sm := readMonitor(t, "servicemonitor-operator.yaml")
		edit(sm)
		if _, err := ScrapeConfigs(sm, ScrapeOptions{Files: map[string]string{podToken: "/t"}}); err == nil {
			t.Errorf("%s that is not derived was accepted", name)
		}
	}
	_, err := ScrapeConfigs(readMonitor(t, "servicemonitor-operator.yaml"), ScrapeOptions{})
	if err == nil || !strings.Contains(err.Error(), "bearerTokenFile") {
		t.Errorf("a token file without a local copy: %v", err)
	}
}

func endpoint(sm *unstructured.Unstructured) map[string]any {
	return sm.Object["spec"].(map[string]any)["endpoints"].([]any)[0].(map[string]any)
}

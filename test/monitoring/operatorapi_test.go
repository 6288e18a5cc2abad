package monitoring

import (
	"os"
	"path/filepath"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

// TestShippedObjectsFitThePrometheusOperatorAPI decodes the PrometheusRule
// and the ServiceMonitors of config/monitoring strictly into the Prometheus
// Operator's own Go types (pkg/apis/monitoring): a misspelt or unknown field
// fails here instead of being refused by the CRD at install time (or pruned
// silently). The lab's envtest has no such CRDs to check them against.
func TestShippedObjectsFitThePrometheusOperatorAPI(t *testing.T) {
	dir := filepath.Join(root, "config", "monitoring")
	monitors, err := filepath.Glob(filepath.Join(dir, "servicemonitor-*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(monitors) != 2 {
		t.Fatalf("want the operator's and the data planes' ServiceMonitors in %s, found %v", dir, monitors)
	}
	for _, file := range monitors {
		var sm monitoringv1.ServiceMonitor
		decodeStrict(t, file, &sm)
		if sm.Kind != monitoringv1.ServiceMonitorsKind || sm.APIVersion != "monitoring.coreos.com/v1" {
			t.Errorf("%s: %s %s, want a monitoring.coreos.com/v1 ServiceMonitor", file, sm.APIVersion, sm.Kind)
		}
		for i, ep := range sm.Spec.Endpoints {
			if ep.Port == "" {
				t.Errorf("%s endpoint %d names no port (the Services' ports are named)", file, i)
			}
			if !ep.HonorLabels {
				t.Errorf("%s endpoint %d: honorLabels is off, so the exporters' namespace or service labels would be renamed exported_*", file, i)
			}
		}
	}
	var rule monitoringv1.PrometheusRule
	decodeStrict(t, filepath.Join(dir, "prometheus-rule.yaml"), &rule)
	if rule.Kind != monitoringv1.PrometheusRuleKind || len(rule.Spec.Groups) == 0 {
		t.Errorf("prometheus-rule.yaml: %s with %d groups", rule.Kind, len(rule.Spec.Groups))
	}
}

func decodeStrict(t *testing.T, file string, into any) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(raw, into); err != nil {
		t.Errorf("%s does not fit the Prometheus Operator's API: %v", file, err)
	}
}

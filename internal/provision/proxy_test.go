package provision

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestOperatorProxyEnv(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://proxy:3128")
	t.Setenv("NO_PROXY", ".svc")
	want := []corev1.EnvVar{
		{Name: "HTTPS_PROXY", Value: "http://proxy:3128"},
		{Name: "https_proxy", Value: "http://proxy:3128"},
		{Name: "NO_PROXY", Value: ".svc"},
		{Name: "no_proxy", Value: ".svc"},
	}
	// HTTP_PROXY may be set on the machine running the test.
	got := OperatorProxyEnv()
	var filtered []corev1.EnvVar
	for _, e := range got {
		if e.Name != "HTTP_PROXY" && e.Name != "http_proxy" {
			filtered = append(filtered, e)
		}
	}
	if diff := cmp.Diff(want, filtered); diff != "" {
		t.Errorf("OperatorProxyEnv() mismatch (-want +got):\n%s", diff)
	}
}

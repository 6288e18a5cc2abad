package kongstandin

import (
	"strings"
	"testing"
)

// Hosts, upstream names and targets follow Kong's check_hostname: label
// characters are checked, label lengths are not, so the entity names built
// from a 253-character Kubernetes name are accepted as Kong accepts them
// (test/kongplugins TestGatewayNameMaximumLength on real Kong).
func TestHostnameLabelsOfAnyLength(t *testing.T) {
	long := "gateway.gateway-conformance-infra." + strings.Repeat("a", 150) + "-45aaf3bf8913bcb7.grpc-unimplemented.80"
	if msg := checkHost(long); msg != "" {
		t.Errorf("service host: %s", msg)
	}
	if msg := checkUpstreamName(long); msg != "" {
		t.Errorf("upstream name: %s", msg)
	}
	for _, bad := range []string{"a..b", "a b", strings.Repeat("a", 254)} {
		if checkHost(bad) == "" {
			t.Errorf("service host %q accepted", bad)
		}
	}
}

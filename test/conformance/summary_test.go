package conformance

import (
	"strings"
	"testing"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
)

func TestWriteSummaryTabulatesProfiles(t *testing.T) {
	r := confv1.ConformanceReport{
		Implementation:    confv1.Implementation{Project: "drawbridge", Version: "0.1.0"},
		GatewayAPIVersion: "v1.7.0", GatewayAPIChannel: "experimental", Mode: "default", Date: "2026-12-02",
		ProfileReports: []confv1.ProfileReport{
			{Name: "GATEWAY-TLS", Core: confv1.Status{Result: confv1.Success, Statistics: confv1.Statistics{Passed: 20}}},
			{Name: "GATEWAY-HTTP",
				Core: confv1.Status{Result: confv1.Partial, Statistics: confv1.Statistics{Passed: 36, Failed: 1}, FailedTests: []string{"HTTPRouteWeight"}},
				Extended: &confv1.ExtendedStatus{Status: confv1.Status{Result: confv1.Success, Statistics: confv1.Statistics{Passed: 12, Skipped: 3}},
					UnsupportedFeatures: []string{"HTTPRouteRequestMirror"}}},
		},
	}
	var b strings.Builder
	if err := WriteSummary(&b, r, "4m2s", "Kong 3.9.3"); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"| GATEWAY-HTTP | core | partial | 36 | 1 | 0 |",
		"| GATEWAY-HTTP | extended | success | 12 | 0 | 3 |",
		"| GATEWAY-TLS | core | success | 20 | 0 | 0 |",
		"- GATEWAY-HTTP core failed: HTTPRouteWeight",
		"- GATEWAY-HTTP extended features not claimed: HTTPRouteRequestMirror",
		"took 4m2s",
		"Data plane: Kong 3.9.3.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "GATEWAY-HTTP | core") > strings.Index(got, "GATEWAY-TLS | core") {
		t.Error("profiles are not sorted")
	}
}

func TestWriteSubmissionReadmeFollowsTheUpstreamLayout(t *testing.T) {
	r := confv1.ConformanceReport{
		Implementation:    confv1.Implementation{Project: "drawbridge", Version: "v0.1.0-main.0123456789ab", URL: "https://github.com/drawbridge-dev/drawbridge"},
		GatewayAPIVersion: "v1.7.0", GatewayAPIChannel: "experimental", Mode: "default",
	}
	var b strings.Builder
	if err := WriteSubmissionReadme(&b, r, "experimental-v0.1.0-main.0123456789ab-default-report.yaml",
		"https://github.com/drawbridge-dev/drawbridge/commit/0123456789ab", "Kong 3.9.3"); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"## Table of contents",
		"| API channel | Implementation version | Mode | Report |",
		"| experimental | [v0.1.0-main.0123456789ab](https://github.com/drawbridge-dev/drawbridge/commit/0123456789ab) | default | [link](./experimental-v0.1.0-main.0123456789ab-default-report.yaml) |",
		"## Reproduce",
		"git checkout 0123456789ab",
		"make conformance-report",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("README lacks %q:\n%s", want, got)
		}
	}
}

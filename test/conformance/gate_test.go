package conformance

import (
	"os"
	"strings"
	"testing"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/yaml"
)

func passingReport() confv1.ConformanceReport {
	ok := confv1.Status{Result: confv1.Success, Statistics: confv1.Statistics{Passed: 3}}
	return confv1.ConformanceReport{ProfileReports: []confv1.ProfileReport{
		{Name: "GATEWAY-HTTP", Core: ok, Extended: &confv1.ExtendedStatus{Status: ok, SupportedFeatures: []string{"HTTPRouteQueryParamMatching", "GatewayPort8080"}}},
		{Name: "GATEWAY-TCP", Core: ok, Extended: &confv1.ExtendedStatus{Status: ok, SupportedFeatures: []string{"GatewayPort8080", "TCPRoute"}}},
	}}
}

var claim = ExpectedClaim{
	Profiles:         []string{"GATEWAY-HTTP", "GATEWAY-TCP"},
	ExtendedFeatures: []string{"GatewayPort8080", "HTTPRouteQueryParamMatching", "TCPRoute"},
}

func TestGateAcceptsAReportThatProvesTheClaim(t *testing.T) {
	if problems := Gate(passingReport(), claim); len(problems) > 0 {
		t.Fatalf("problems in a passing report: %v", problems)
	}
}

func TestGateRefusesWhatAPassLineHides(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(*confv1.ConformanceReport)
		want   string
	}{
		"a skipped extended test": {func(r *confv1.ConformanceReport) {
			r.ProfileReports[0].Extended.Skipped = 1
			r.ProfileReports[0].Extended.SkippedTests = []string{"HTTPRouteQueryParamMatching"}
		}, "GATEWAY-HTTP extended: 1 skipped: [HTTPRouteQueryParamMatching]"},
		"a failed core test": {func(r *confv1.ConformanceReport) {
			r.ProfileReports[1].Core.Failed = 1
			r.ProfileReports[1].Core.Result = confv1.Failure
		}, "GATEWAY-TCP core: 1 failed"},
		"a partial result": {func(r *confv1.ConformanceReport) {
			r.ProfileReports[1].Core.Result = confv1.Partial
		}, `GATEWAY-TCP core: result "partial"`},
		"a feature no longer claimed": {func(r *confv1.ConformanceReport) {
			r.ProfileReports[0].Extended.SupportedFeatures = []string{"GatewayPort8080"}
		}, "[HTTPRouteQueryParamMatching] expected but not supported"},
		"a feature claimed but not expected": {func(r *confv1.ConformanceReport) {
			r.ProfileReports[1].Extended.SupportedFeatures = append(r.ProfileReports[1].Extended.SupportedFeatures, "UDPRoute")
		}, "[UDPRoute] supported but not expected"},
		"a profile that did not run": {func(r *confv1.ConformanceReport) {
			r.ProfileReports = r.ProfileReports[:1]
		}, "[GATEWAY-TCP] did not run"},
	} {
		t.Run(name, func(t *testing.T) {
			r := passingReport()
			tc.change(&r)
			problems := strings.Join(Gate(r, claim), "\n")
			if !strings.Contains(problems, tc.want) {
				t.Errorf("problems %q do not say %q", problems, tc.want)
			}
		})
	}
}

// TestGatePassesThePublishedReport holds the checked-in claim to the report
// published under conformance/reports.
func TestGatePassesThePublishedReport(t *testing.T) {
	data, err := os.ReadFile("expected-claim.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var want ExpectedClaim
	if err := yaml.UnmarshalStrict(data, &want); err != nil {
		t.Fatal(err)
	}
	reports, err := os.ReadDir("../../conformance/reports/v1.7.0/drawbridge")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range reports {
		if !strings.HasSuffix(e.Name(), "-report.yaml") {
			continue
		}
		raw, err := os.ReadFile("../../conformance/reports/v1.7.0/drawbridge/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		var r confv1.ConformanceReport
		if err := yaml.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		checked++
		if problems := Gate(r, want); len(problems) > 0 {
			t.Errorf("%s: %v", e.Name(), problems)
		}
	}
	if checked == 0 {
		t.Fatal("no published report found")
	}
}

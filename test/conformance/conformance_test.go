package conformance

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/gateway-api/conformance"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/yaml"
)

// The suite's own flags (--gateway-class, --conformance-profiles,
// --supported-features, --run-test, ...) are parsed by conformance.DefaultOptions;
// these are ours.
var (
	summaryPath = flag.String("summary-output", "", "where to write the Markdown summary of the report (next to --report-output when empty)")
	version     = flag.String("drawbridge-version", "dev", "the Drawbridge version recorded in the report")
	dataPlane   = flag.String("data-plane", "", "the Kong the lab ran, named in the summary (the lab conformance command passes it)")
	// Set by `make conformance-report`: the upstream submission folder's
	// README.md, and the commit the run's version points at.
	submissionReadme = flag.String("submission-readme", "", "where to write the README.md of a conformance/reports/<version>/drawbridge submission (none when empty)")
	commitURL        = flag.String("commit-url", "", "the URL of the commit the run was built from, linked from the submission README")
	// Set by `make conformance` (and so by make test): the test fails unless
	// the report proves exactly this claim; see Gate.
	expectedClaim = flag.String("expected-claim", "", "expected-claim.yaml: the profiles and extended features the report must show, with nothing failed or skipped (no check when empty)")
)

// TestConformance runs the unmodified upstream suite. Which features run is
// taken from the GatewayClass's status.supportedFeatures unless flags say
// otherwise: the operator's claim is the only list there is.
func TestConformance(t *testing.T) {
	opts := conformance.DefaultOptions(t)
	opts.Implementation = confv1.Implementation{
		Organization: "drawbridge-dev",
		Project:      "drawbridge",
		URL:          "https://github.com/drawbridge-dev/drawbridge",
		Version:      *version,
		Contact:      []string{"@drawbridge-dev/maintainers"},
	}
	if opts.ReportOutputPath != "" {
		start := time.Now()
		report := opts.ReportOutputPath
		// Registered before the suite's own cleanup, so it runs after the
		// report was written.
		t.Cleanup(func() {
			data, err := os.ReadFile(report)
			if err != nil {
				t.Errorf("read the report for the summary: %v", err)
				return
			}
			var r confv1.ConformanceReport
			if err := yaml.Unmarshal(data, &r); err != nil {
				t.Errorf("parse the report %s: %v", report, err)
				return
			}
			if *expectedClaim != "" {
				checkClaim(t, r, *expectedClaim)
			}
			out := *summaryPath
			if out == "" {
				out = filepath.Join(filepath.Dir(report), "SUMMARY.md")
			}
			f, err := os.Create(out)
			if err != nil {
				t.Errorf("write the summary: %v", err)
				return
			}
			defer f.Close()
			if err := WriteSummary(f, r, time.Since(start).Round(time.Second).String(), *dataPlane); err != nil {
				t.Errorf("write the summary: %v", err)
			}
			if *submissionReadme == "" {
				return
			}
			rf, err := os.Create(*submissionReadme)
			if err != nil {
				t.Errorf("write the submission README: %v", err)
				return
			}
			defer rf.Close()
			if err := WriteSubmissionReadme(rf, r, filepath.Base(report), *commitURL, *dataPlane); err != nil {
				t.Errorf("write the submission README: %v", err)
			}
		})
	}
	conformance.RunConformanceWithOptions(t, opts)
}

// checkClaim fails the test for every way the report falls short of the
// expected claim.
func checkClaim(t *testing.T, r confv1.ConformanceReport, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("read the expected claim: %v", err)
		return
	}
	var want ExpectedClaim
	if err := yaml.UnmarshalStrict(data, &want); err != nil {
		t.Errorf("parse the expected claim %s: %v", path, err)
		return
	}
	for _, p := range Gate(r, want) {
		t.Errorf("conformance report: %s", p)
	}
}

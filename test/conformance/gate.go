package conformance

import (
	"fmt"
	"slices"
	"sort"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
)

// ExpectedClaim is what a conformance run must show (expected-claim.yaml):
// which profiles ran and which extended features they reported supported.
type ExpectedClaim struct {
	Profiles               []string `json:"profiles"`
	ExtendedFeatures       []string `json:"extendedFeatures"`
	CoreFeatures           []string `json:"coreFeatures"`
	ClaimedOutsideProfiles []string `json:"claimedOutsideProfiles"`
}

// Gate lists why a report does not prove the claim: a profile missing or
// extra, a failed or skipped test, a result other than success, or
// supported extended features that differ from the expected ones. A PASS
// line in the log proves none of this: the suite passes a run that skipped
// a claimed feature or that claimed fewer features than it should.
func Gate(r confv1.ConformanceReport, want ExpectedClaim) []string {
	var problems []string
	var ran []string
	supported := map[string]bool{}
	for _, p := range r.ProfileReports {
		ran = append(ran, p.Name)
		check := func(level string, s confv1.Status) {
			if s.Result != confv1.Success {
				problems = append(problems, fmt.Sprintf("%s %s: result %q, want %q", p.Name, level, s.Result, confv1.Success))
			}
			if s.Failed > 0 {
				problems = append(problems, fmt.Sprintf("%s %s: %d failed: %v", p.Name, level, s.Failed, s.FailedTests))
			}
			if s.Skipped > 0 {
				problems = append(problems, fmt.Sprintf("%s %s: %d skipped: %v", p.Name, level, s.Skipped, s.SkippedTests))
			}
		}
		check("core", p.Core)
		if p.Extended != nil {
			check("extended", p.Extended.Status)
			for _, f := range p.Extended.SupportedFeatures {
				supported[f] = true
			}
		}
	}
	if missing, extra := difference(want.Profiles, ran); len(missing)+len(extra) > 0 {
		problems = append(problems, fmt.Sprintf("profiles: %v did not run, %v ran but are not expected", missing, extra))
	}
	var got []string
	for f := range supported {
		got = append(got, f)
	}
	if missing, extra := difference(want.ExtendedFeatures, got); len(missing)+len(extra) > 0 {
		problems = append(problems, fmt.Sprintf("extended features: %v expected but not supported in the run, %v supported but not expected (update expected-claim.yaml with the claim)", missing, extra))
	}
	return problems
}

// difference returns what want has that got lacks, and the reverse, sorted.
func difference(want, got []string) (missing, extra []string) {
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}

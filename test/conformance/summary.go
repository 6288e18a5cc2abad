package conformance

import (
	"fmt"
	"io"
	"sort"
	"strings"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
)

// WriteSummary renders a report as a Markdown table: passed, failed and
// skipped per profile, core and extended, followed by the failed and skipped
// test names, which are what a reader acts on. dataPlane names the Kong the
// traffic went through, since every result is a claim about it.
func WriteSummary(w io.Writer, r confv1.ConformanceReport, duration, dataPlane string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Gateway API conformance: %s %s\n\n", r.Implementation.Project, r.Implementation.Version)
	fmt.Fprintf(&b, "Gateway API %s (%s channel), mode %s, run on %s", r.GatewayAPIVersion, r.GatewayAPIChannel, r.Mode, r.Date)
	if duration != "" {
		fmt.Fprintf(&b, ", took %s", duration)
	}
	b.WriteString(".\n")
	if dataPlane != "" {
		fmt.Fprintf(&b, "Data plane: %s.\n", dataPlane)
	}
	b.WriteString("\n| profile | level | result | passed | failed | skipped |\n|---|---|---|---|---|---|\n")
	profiles := append([]confv1.ProfileReport(nil), r.ProfileReports...)
	sort.Slice(profiles, func(i, j int) bool { return profiles[i].Name < profiles[j].Name })
	var notes []string
	for _, p := range profiles {
		row := func(level string, s confv1.Status) {
			fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %d |\n", p.Name, level, s.Result, s.Passed, s.Failed, s.Skipped)
			if len(s.FailedTests) > 0 {
				notes = append(notes, fmt.Sprintf("- %s %s failed: %s", p.Name, level, strings.Join(s.FailedTests, ", ")))
			}
			if len(s.SkippedTests) > 0 {
				notes = append(notes, fmt.Sprintf("- %s %s skipped: %s", p.Name, level, strings.Join(s.SkippedTests, ", ")))
			}
		}
		row("core", p.Core)
		if p.Extended != nil {
			row("extended", p.Extended.Status)
			if len(p.Extended.UnsupportedFeatures) > 0 {
				notes = append(notes, fmt.Sprintf("- %s extended features not claimed: %s", p.Name, strings.Join(p.Extended.UnsupportedFeatures, ", ")))
			}
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n" + strings.Join(notes, "\n") + "\n")
	}
	if len(r.SucceededProvisionalTests) > 0 {
		fmt.Fprintf(&b, "\nProvisional tests passed: %s\n", strings.Join(r.SucceededProvisionalTests, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

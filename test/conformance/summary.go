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

// WriteSubmissionReadme renders the README.md that the Gateway API
// repository asks of an implementation's folder under
// conformance/reports/<version>/: a table of contents with one row per
// report (channel, implementation version, mode, link) and how to
// reproduce it. commitURL links the version to the commit it was run on.
func WriteSubmissionReadme(w io.Writer, r confv1.ConformanceReport, reportFile, commitURL, dataPlane string) error {
	var b strings.Builder
	b.WriteString("# Drawbridge\n\n")
	b.WriteString("Drawbridge is a Kubernetes operator that provisions Gateway API Gateways as managed open-source Kong\n")
	fmt.Fprintf(&b, "data planes and configures them through Kong's Admin API over mutual TLS (%s).\n", r.Implementation.URL)
	if dataPlane != "" {
		fmt.Fprintf(&b, "This run's data plane: %s.\n", dataPlane)
	}
	b.WriteString("\n## Table of contents\n\n")
	b.WriteString("| API channel | Implementation version | Mode | Report |\n|-------------|------------------------|------|--------|\n")
	fmt.Fprintf(&b, "| %s | [%s](%s) | %s | [link](./%s) |\n\n", r.GatewayAPIChannel, r.Implementation.Version, commitURL, r.Mode, reportFile)
	b.WriteString("## Reproduce\n\n")
	b.WriteString("On a Linux machine with Go, root and the Go module proxy (no Docker or kind: the suite runs in\n")
	b.WriteString("Drawbridge's embedded lab, a Kubernetes control plane and node in network namespaces, with Kong\n")
	b.WriteString("3.9.3 built from source):\n\n")
	b.WriteString("```sh\n")
	fmt.Fprintf(&b, "git clone %s drawbridge && cd drawbridge\n", r.Implementation.URL)
	if i := strings.LastIndex(commitURL, "/"); i >= 0 {
		fmt.Fprintf(&b, "git checkout %s\n", commitURL[i+1:])
	}
	b.WriteString("make conformance-report\n```\n\n")
	b.WriteString("The target builds everything it needs, runs the unmodified upstream suite for the GATEWAY-HTTP,\n")
	b.WriteString("-GRPC, -TLS, -TCP and -UDP profiles with the features the GatewayClass publishes in\n")
	b.WriteString("`status.supportedFeatures`, and writes this folder.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

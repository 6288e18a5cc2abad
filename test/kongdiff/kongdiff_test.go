package kongdiff

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestKongDiff runs real Kong and the stand-in side by side: verdicts on
// every golden configuration, then the request corpus on every accepted
// one. KONGDIFF_CASES (a glob) narrows the cases; KONGDIFF_SUMMARY names a
// file for the agreement figures; KONGDIFF_VERBOSE logs every answer;
// KONGDIFF_UNLISTED names a file for unlisted differences in the format of
// known-differences.yaml; KONGDIFF_BUDGET bounds the request phase.
func TestKongDiff(t *testing.T) {
	install, why := findKong()
	if install == nil {
		t.Skip(why)
	}
	cases, err := loadCases()
	if err != nil {
		t.Fatal(err)
	}
	if g := os.Getenv("KONGDIFF_CASES"); g != "" {
		var keep []goldenCase
		for _, c := range cases {
			if globMatch(g, c.id) {
				keep = append(keep, c)
			}
		}
		cases = keep
	}
	known, err := loadKnown()
	if err != nil {
		t.Fatal(err)
	}
	ports := gatewayPorts(cases)
	lays, err := newLayouts(ports, 2)
	if err != nil {
		t.Fatal(err)
	}
	kongLay, standinLay := lays[0], lays[1]
	start := time.Now()
	rk := startRealKong(t, install, withDrawbridgePlugins(t, install, kongLay.env()))
	kong := newPlane("kong", kongLay)
	if err := waitHTTP(kong.admin+"/status", 20*time.Second); err != nil {
		t.Fatalf("real Kong admin API: %v\n%s", err, rk.errorLogTail())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("real Kong's error log, errors only:\n%s", rk.errorLines())
		}
	})
	startStandin(t, withDrawbridgePlugins(t, install, standinLay.env()))
	standin := newPlane("standin", standinLay)
	t.Logf("real Kong (%s) and the stand-in are up after %s; %d configurations, Gateway ports %v", install.Dir, time.Since(start).Round(time.Millisecond), len(cases), ports)

	mutated, err := mutatedCases(cases)
	if err != nil {
		t.Fatal(err)
	}
	var vs verdictStats
	t.Run("verdicts", func(t *testing.T) {
		vs = runVerdicts(t, append(append([]goldenCase{}, cases...), mutated...), kong, standin, known)
	})
	var rs requestStats
	t.Run("requests", func(t *testing.T) { rs = runRequests(t, vs.accepted, kong, standin, known) })

	t.Logf("known differences seen:\n%s%s", hitReport(known.Verdicts), hitReport(known.Requests))
	if !testing.Short() && os.Getenv("KONGDIFF_CASES") == "" {
		for _, u := range unused(known.Verdicts) {
			t.Errorf("%s lists a verdict difference that no longer occurs: %s", knownFile, u)
		}
		for _, u := range unused(known.Requests) {
			t.Errorf("%s lists a request difference that no longer occurs: %s", knownFile, u)
		}
	}
	summary := fmt.Sprintf("configs agreed %d/%d (%d accepted by both), requests agreed %d/%d over %d cases; %d listed differences (%d verdicts, %d requests); %s",
		vs.agreed, vs.total, len(vs.accepted), rs.agreed, rs.total, rs.cases, vs.total-vs.agreed+rs.total-rs.agreed,
		vs.total-vs.agreed, rs.total-rs.agreed, time.Since(start).Round(time.Second))
	t.Logf("kongdiff: %s", summary)
	if p := os.Getenv("KONGDIFF_SUMMARY"); p != "" {
		body := "kongdiff: " + summary + "\n" + strings.Join(rs.perKind, "\n") + "\n"
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Errorf("write summary: %v", err)
		}
	}
}

// verdictStats counts the verdict comparison.
type verdictStats struct {
	total, agreed int
	accepted      []goldenCase
}

// runVerdicts posts every configuration to both data planes in sequence.
func runVerdicts(t *testing.T, cases []goldenCase, kong, standin *plane, known *knownList) verdictStats {
	var st verdictStats
	var unlisted []difference
	for _, c := range cases {
		kv, err := postVerdict(kong, c.config)
		if err != nil {
			t.Fatalf("%s: %v", c.id, err)
		}
		sv, err := postVerdict(standin, c.config)
		if err != nil {
			t.Fatalf("%s: %v", c.id, err)
		}
		st.total++
		if kv.String() == sv.String() {
			st.agreed++
			if kv.status == 201 {
				st.accepted = append(st.accepted, c)
			}
			continue
		}
		d := difference{Case: c.id, Request: "POST /config", Kong: kv.String(), Standin: sv.String()}
		if e := match(known.Verdicts, d); e != nil {
			t.Logf("%s: known verdict difference: kong %q, stand-in %q (%s)", c.id, d.Kong, d.Standin, e.Reason)
			continue
		}
		unlisted = append(unlisted, d)
		t.Errorf("%s: verdicts differ: kong %q [%s], stand-in %q [%s]\n  kong body:     %s\n  stand-in body: %s", c.id, kv, kv.detail, sv, sv.detail, kv.body, sv.body)
	}
	if len(unlisted) > 0 {
		t.Logf("unlisted verdict differences, in %s form:\n%s", knownFile, renderUnlisted(unlisted))
	}
	t.Logf("verdicts: %d/%d configurations agreed", st.agreed, st.total)
	return st
}

func postVerdict(p *plane, cfg []byte) (verdict, error) {
	status, body, err := p.postConfig(cfg)
	if err != nil {
		return verdict{}, err
	}
	return newVerdict(status, body), nil
}

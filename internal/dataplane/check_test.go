package dataplane

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestJudgeComparesWithTheHashLastHeld(t *testing.T) {
	const a, b = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	for _, tc := range []struct {
		name           string
		held, reported string
		err            error
		want           CheckResult
		learned        string
	}{
		{"same hash", a, a, nil, CheckInSync, a},
		{"same hash with blanks", a, " " + a + "\n", nil, CheckInSync, a},
		{"first sight after a push", "", a, nil, CheckInSync, a},
		{"restarted without configuration", a, zeroConfigHash, nil, CheckDrifted, a},
		{"zero before the hash was learned", "", zeroConfigHash, nil, CheckDrifted, ""},
		{"no hash in the answer", a, "", nil, CheckDrifted, a},
		{"configuration replaced", a, b, nil, CheckDrifted, a},
		{"unreachable", a, "", errors.New("connection refused"), CheckUnreachable, a},
		{"unreachable before the hash was learned", "", "", errors.New("timeout"), CheckUnreachable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, learned := judge(tc.held, tc.reported, tc.err)
			if got != tc.want || learned != tc.learned {
				t.Fatalf("judge(%q, %q, %v) = %s, %q; want %s, %q", tc.held, tc.reported, tc.err, got, learned, tc.want, tc.learned)
			}
		})
	}
}

func TestCheckReportAsksForAReconcileOnlyOnDrift(t *testing.T) {
	rep := func(name string, res CheckResult) ReplicaCheck {
		return ReplicaCheck{Replica: Replica{Name: name}, Result: res}
	}
	for _, tc := range []struct {
		name   string
		report CheckReport
		want   bool
	}{
		{"no replicas", CheckReport{}, false},
		{"all in sync", CheckReport{Replicas: []ReplicaCheck{rep("a", CheckInSync), rep("b", CheckInSync)}}, false},
		{"pending and busy are left to the reconcile under way", CheckReport{Replicas: []ReplicaCheck{rep("a", CheckPending), rep("b", CheckBusy)}}, false},
		{"one drifted", CheckReport{Replicas: []ReplicaCheck{rep("a", CheckInSync), rep("b", CheckDrifted)}}, true},
		{"one unreachable", CheckReport{Replicas: []ReplicaCheck{rep("a", CheckUnreachable)}}, true},
		{"one new", CheckReport{Replicas: []ReplicaCheck{rep("a", CheckInSync), rep("b", CheckNew)}}, true},
		{"one gone", CheckReport{Replicas: []ReplicaCheck{rep("a", CheckInSync)}, Gone: []string{"b"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.report.NeedsReconcile(); got != tc.want {
				t.Fatalf("NeedsReconcile() = %v, want %v (reason %q)", got, tc.want, tc.report.Reason())
			}
			if tc.want && tc.report.Reason() == "" {
				t.Fatal("a reconcile without a reason")
			}
		})
	}
}

// The check costs one GET /status per replica and sends no configuration;
// it tells a restarted, a new, a removed and an unreachable replica apart
// from one that still holds its configuration.
func TestCheckFindsWhatChangedOnTheReplicas(t *testing.T) {
	p := newPKI(t)
	k0 := p.startKong(t, "kong-0", "127.0.0.2", 0)
	k1 := p.startKong(t, "kong-1", "127.0.0.3", 0)
	pusher, cnt, _ := newTestPusher(t, p)
	ctx := context.Background()
	if res := pusher.Push(ctx, []Replica{k0.rep, k1.rep}, validConfig("a")); !res.AllInSync() {
		t.Fatal(res.Err())
	}

	report := pusher.Check(ctx, []Replica{k0.rep, k1.rep})
	if report.NeedsReconcile() || results(report) != "kong-0=in_sync kong-1=in_sync" {
		t.Fatalf("after a push: %s (%s)", results(report), report.Reason())
	}
	for _, k := range []*kongReplica{k0, k1} {
		if cnt.get(k.rep, "GET /status") != 1 || cnt.get(k.rep, "POST /config") != 1 {
			t.Fatalf("%s: %d GET /status, %d POST /config", k.rep.Name, cnt.get(k.rep, "GET /status"), cnt.get(k.rep, "POST /config"))
		}
		if st, _ := pusher.State(k.rep.Name); st.ConfigurationHash != k.configHash() {
			t.Fatalf("%s: held hash %q, replica serves %q", k.rep.Name, st.ConfigurationHash, k.configHash())
		}
	}

	// kong-0 restarts empty; kong-2 appears.
	k0 = k0.restart()
	defer pusher.Close()
	k2 := p.startKong(t, "kong-2", "127.0.0.4", 0)
	report = pusher.Check(ctx, []Replica{k0.rep, k1.rep, k2.rep})
	if !report.NeedsReconcile() || results(report) != "kong-0=drifted kong-1=in_sync kong-2=new" {
		t.Fatalf("after a restart: %s", results(report))
	}
	if !strings.Contains(report.Reason(), "kong-0 reports configuration hash \""+zeroConfigHash+"\"") {
		t.Fatalf("reason %q", report.Reason())
	}
	if cnt.get(k2.rep, "GET /status") != 0 {
		t.Fatal("a new replica was asked for a hash it cannot have")
	}

	// kong-1 is removed from the list; then it stops answering.
	report = pusher.Check(ctx, []Replica{k0.rep})
	if !report.NeedsReconcile() || fmt.Sprint(report.Gone) != "[kong-1]" {
		t.Fatalf("after a removal: %s gone %v", results(report), report.Gone)
	}
	k1.stop()
	report = pusher.Check(ctx, []Replica{k1.rep})
	if results(report) != "kong-1=unreachable" || report.Replicas[0].Err == nil {
		t.Fatalf("stopped replica: %s (%v)", results(report), report.Replicas[0].Err)
	}
	for _, k := range []*kongReplica{k0, k1, k2} {
		if n := cnt.get(k.rep, "POST /config"); n > 1 {
			t.Fatalf("%s: the check pushed (%d POST /config)", k.rep.Name, n)
		}
	}
}

// A replica whose configuration was replaced by another non-empty one is
// drifted, and the next push of the same configuration sends it again
// instead of trusting the replica's non-zero hash.
func TestReplacedConfigurationIsDetectedAndPushedAgain(t *testing.T) {
	p := newPKI(t)
	k := p.startKong(t, "kong-0", "127.0.0.2", 0)
	pusher, cnt, _ := newTestPusher(t, p)
	other, _, _ := newTestPusher(t, p)
	ctx := context.Background()
	cfg := validConfig("a")
	if res := pusher.Push(ctx, []Replica{k.rep}, cfg); !res.AllInSync() {
		t.Fatal(res.Err())
	}
	if report := pusher.Check(ctx, []Replica{k.rep}); results(report) != "kong-0=in_sync" {
		t.Fatalf("after the push: %s", results(report))
	}
	ours := k.configHash()

	if res := other.Push(ctx, []Replica{k.rep}, validConfig("elsewhere")); !res.AllInSync() {
		t.Fatal(res.Err())
	}
	report := pusher.Check(ctx, []Replica{k.rep})
	if results(report) != "kong-0=drifted" || report.Replicas[0].Held != ours {
		t.Fatalf("after the replacement: %s %+v", results(report), report.Replicas[0])
	}
	res := pusher.Push(ctx, []Replica{k.rep}, cfg)
	if o := res.Replicas[0]; !o.InSync || o.Skipped || cnt.get(k.rep, "POST /config") != 2 {
		t.Fatalf("push after the replacement: %+v, %d POST /config", o, cnt.get(k.rep, "POST /config"))
	}
	if k.configHash() != ours {
		t.Fatalf("replica serves %q, want %q", k.configHash(), ours)
	}
	if report := pusher.Check(ctx, []Replica{k.rep}); results(report) != "kong-0=in_sync" {
		t.Fatalf("after the repair: %s", results(report))
	}
}

// A replica whose last push failed is left to the reconcile that retries
// it, and one with a push under way is not asked.
func TestCheckLeavesFailedAndBusyReplicasAlone(t *testing.T) {
	p := newPKI(t)
	failing := newDouble(t, p,
		reply{code: 503, body: `{"message":"Kong currently exiting"}`},
		reply{code: 503, body: `{"message":"Kong currently exiting"}`},
		reply{code: 503, body: `{"message":"Kong currently exiting"}`})
	pusher, cnt, _ := newTestPusher(t, p)
	ctx := context.Background()
	if res := pusher.Push(ctx, []Replica{failing.rep}, validConfig("a")); res.AllInSync() {
		t.Fatal("the double was scripted to fail every attempt")
	}
	report := pusher.Check(ctx, []Replica{failing.rep})
	if results(report) != "double-0=pending" || report.NeedsReconcile() || cnt.get(failing.rep, "GET /status") != 0 {
		t.Fatalf("failed replica: %s, %d GET /status", results(report), cnt.get(failing.rep, "GET /status"))
	}

	slow := newDouble(t, p, reply{block: true})
	busy, _, _ := newTestPusher(t, p)
	pushCtx, cancel := context.WithCancel(ctx)
	done := make(chan Result, 1)
	go func() { done <- busy.Push(pushCtx, []Replica{slow.rep}, validConfig("a")) }()
	deadline := time.Now().Add(testTimeout)
	for slow.postCount() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	report = busy.Check(ctx, []Replica{slow.rep})
	cancel()
	<-done
	if results(report) != "double-0=busy" || report.NeedsReconcile() {
		t.Fatalf("replica with a push under way: %s", results(report))
	}
}

// The check gives up on a replica that does not answer when its context
// ends.
func TestCheckIsBoundedByItsContext(t *testing.T) {
	p := newPKI(t)
	d := newDouble(t, p)
	d.mu.Lock()
	d.hangStatus = true
	d.mu.Unlock()
	pusher, _, _ := newTestPusher(t, p)
	if res := pusher.Push(context.Background(), []Replica{d.rep}, validConfig("a")); !res.AllInSync() {
		t.Fatal(res.Err())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	report := pusher.Check(ctx, []Replica{d.rep})
	if results(report) != "double-0=unreachable" || !errors.Is(report.Replicas[0].Err, context.DeadlineExceeded) {
		t.Fatalf("hanging replica: %s (%v)", results(report), report.Replicas[0].Err)
	}
}

func results(r CheckReport) string {
	parts := make([]string, 0, len(r.Replicas))
	for _, c := range r.Replicas {
		parts = append(parts, c.Replica.Name+"="+string(c.Result))
	}
	return strings.Join(parts, " ")
}

// BenchmarkCheck measures the periodic check of 10 replicas holding a
// 10,000-route configuration: one GET /status each, nothing hashed or sent.
// Compare BenchmarkPushUnchanged (what each periodic full reconcile used to
// cost in pushing alone) and BenchmarkPush.
func BenchmarkCheck(b *testing.B) {
	p := newPKI(b)
	reps := startReplicas(b, p, 10)
	pusher, _, _ := newTestPusher(b, p, WithTimeout(benchCallTimeout))
	if res := pusher.Push(context.Background(), reps, largeConfig(100, 100, "a")); !res.AllInSync() {
		b.Fatal(res.Err())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		report := pusher.Check(context.Background(), reps)
		if report.NeedsReconcile() {
			b.Fatalf("replicas drifted: %s", report.Reason())
		}
	}
}

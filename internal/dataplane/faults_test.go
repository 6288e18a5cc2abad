package dataplane

// Replicas that answer with 429/503, slowly, or refuse the operator's
// certificates: what is retried, how long the Pusher waits, and how the
// outcome is reported.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/testutil"
	"github.com/drawbridge-dev/drawbridge/test/kongstandin"
)

// nginxRefusal is nginx's answer to a client certificate that does not
// verify (as Kong 3.9.3's admin listener sends it).
func nginxRefusal(reason string) reply {
	return reply{code: http.StatusBadRequest, contentType: "text/html; charset=UTF-8", body: nginxPage(reason)}
}

// An admin authentication failure is retried with the capped exponential
// backoff, never sooner than the auth floor, and the push succeeds once the
// replica accepts the certificate.
func TestAdminAuthFailuresAreRetriedWithBackoffAboveTheFloor(t *testing.T) {
	p := newPKI(t)
	for _, tc := range []struct {
		name  string
		opts  []Option
		waits []time.Duration
	}{
		// Backoff 100ms, 200ms (maxJitter): both under the 1s floor.
		{"default floor", nil, []time.Duration{time.Second, time.Second}},
		// A lower floor leaves the exponential backoff above it.
		{"floor under the backoff", []Option{WithAuthRetryFloor(150 * time.Millisecond)}, []time.Duration{150 * time.Millisecond, 200 * time.Millisecond}},
		// A backoff above the floor is kept, and capped.
		{"backoff above the floor", []Option{WithBackoff(2*time.Second, 3*time.Second)}, []time.Duration{2 * time.Second, 3 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDouble(t, p, nginxRefusal("No required SSL certificate was sent"), nginxRefusal("The SSL certificate error"))
			pusher, _, clk := newTestPusher(t, p, append([]Option{WithJitter(maxJitter)}, tc.opts...)...)
			res := pusher.Push(context.Background(), []Replica{d.rep}, validConfig("a"))
			o := res.Replicas[0]
			if !o.InSync || o.Attempts != 3 || d.postCount() != 3 || o.Rejection != nil {
				t.Fatalf("outcome %+v posts %d", o, d.postCount())
			}
			if got := clk.Sleeps(); fmt.Sprint(got) != fmt.Sprint(tc.waits) {
				t.Fatalf("waits %v, want %v", got, tc.waits)
			}
		})
	}
}

// A replica that keeps refusing is given up on after the attempt limit and
// reported as an admin authentication failure: not a rejection, nothing
// left out, named in Lagging with what it refused.
func TestAdminAuthFailureGivesUpAndIsReportedAsSuch(t *testing.T) {
	p := newPKI(t)
	var script []reply
	for range 5 {
		script = append(script, nginxRefusal("The SSL certificate error"))
	}
	refusing := newDouble(t, p, script...)
	ok := p.startKong(t, "kong-0", "127.0.0.2", 0)
	pusher, _, _ := newTestPusher(t, p)
	res := pusher.Push(context.Background(), []Replica{ok.rep, refusing.rep}, validConfig("a"))
	o := res.Replicas[1]
	var ae *AdminAuthError
	if o.InSync || o.Attempts != 3 || refusing.postCount() != 3 || !errors.As(o.AuthFailure(), &ae) || ae.Reason != "The SSL certificate error" {
		t.Fatalf("refusing replica: %+v", o)
	}
	if o.Rejection != nil || res.Rejection != nil {
		t.Fatalf("an authentication failure was reported as a rejection: %+v", res.Rejection)
	}
	if !res.Replicas[0].InSync || res.InSync != 1 || res.AllInSync() {
		t.Fatalf("result %+v", res)
	}
	if fails := res.AuthFailures(); len(fails) != 1 || fails[0].Replica.Name != refusing.rep.Name {
		t.Fatalf("AuthFailures() = %+v", fails)
	}
	lag := res.Lagging()
	if want := "not in sync: double-0 (POST /config: Kong admin API refused the operator's client certificate (HTTP 400 \"The SSL certificate error\")"; !strings.HasPrefix(lag, want) {
		t.Fatalf("Lagging() = %q, want it to start %q", lag, want)
	}
	if strings.Contains(lag, "Kong rejected") || strings.Contains(lag, "kong-0") {
		t.Fatalf("Lagging() = %q", lag)
	}
	if st, _ := pusher.State(refusing.rep.Name); st.LastError == nil || adminAuthFailure(st.LastError) == nil {
		t.Fatalf("state %+v", st)
	}
}

// A 400 that is Kong's verdict on the configuration is still never
// retried, even when the replica refused the certificate just before.
func TestConfigErrorAfterAnAuthFailureIsNotRetried(t *testing.T) {
	p := newPKI(t)
	d := newDouble(t, p, nginxRefusal("The SSL certificate error"), reply{code: 400, body: sampleFlattened}, reply{code: 201, body: `{}`})
	pusher, _, clk := newTestPusher(t, p, WithMaxAttempts(5))
	res := pusher.Push(context.Background(), []Replica{d.rep}, validConfig("a"))
	o := res.Replicas[0]
	if o.InSync || o.Attempts != 2 || d.postCount() != 2 || len(clk.Sleeps()) != 1 || o.Rejection == nil || o.AuthFailure() != nil {
		t.Fatalf("outcome %+v posts %d sleeps %v", o, d.postCount(), clk.Sleeps())
	}
}

// A replica still holding the previous client CA (a rotation half done)
// is configured within the same push once it takes the operator's
// certificate.
func TestRotationCompletingWhileRetryingIsPickedUp(t *testing.T) {
	p := newPKI(t)
	k := p.startKong(t, "kong-0", "127.0.0.2", 0)
	previous, err := testutil.NewTestCA("previous-ca")
	if err != nil {
		t.Fatal(err)
	}
	if err := k.srv.SetAdminClientCA(previous.CertPEM); err != nil {
		t.Fatal(err)
	}
	pusher, cnt, clk := newTestPusher(t, p)
	clk.onSleep = func() {
		if err := k.srv.SetAdminClientCA(nil); err != nil {
			t.Error(err)
		}
	}
	res := pusher.Push(context.Background(), []Replica{k.rep}, validConfig("a"))
	o := res.Replicas[0]
	if !o.InSync || o.Attempts != 2 || cnt.get(k.rep, "POST /config") != 2 || len(clk.Sleeps()) != 1 || clk.Sleeps()[0] < DefaultAuthRetryFloor {
		t.Fatalf("outcome %+v sleeps %v", o, clk.Sleeps())
	}
	if k.configHash() == zeroConfigHash {
		t.Fatal("the replica was not configured")
	}
}

// A 503 waits for its Retry-After like a 429 (delay-seconds or a date);
// without one it takes the backoff. A Retry-After beyond what Kong ever
// asks (10s) or the backoff cap is cut to the larger of the two.
func TestServiceUnavailableHonorsRetryAfter(t *testing.T) {
	p := newPKI(t)
	clk := newFakeClock()
	date := clk.Now().Add(5 * time.Second).UTC().Format(http.TimeFormat)
	exiting := `{"message":"Kong currently exiting"}`
	d := newDouble(t, p,
		reply{code: 503, retryAfter: "3", body: exiting},
		reply{code: 503, body: exiting},
		reply{code: 503, retryAfter: date, body: exiting},
		reply{code: 503, retryAfter: "3600", body: exiting},
		reply{code: 429, retryAfter: "3600", body: `{"message":"Currently loading previous configuration"}`},
	)
	pusher, _, _ := newTestPusher(t, p, WithClock(clk), WithBackoff(time.Second, 4*time.Second), WithJitter(maxJitter), WithMaxAttempts(6))
	res := pusher.Push(context.Background(), []Replica{d.rep}, validConfig("a"))
	if o := res.Replicas[0]; !o.InSync || o.Attempts != 6 || d.postCount() != 6 {
		t.Fatalf("outcome %+v posts %d", o, d.postCount())
	}
	// 3s asked; backoff for retry 2; the date 5s after the start, 3s+2s
	// later; an hour cut to 10s, twice.
	want := []time.Duration{3 * time.Second, 2 * time.Second, 0, 10 * time.Second, 10 * time.Second}
	if got := clk.Sleeps(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("waits %v, want %v", got, want)
	}

	// With a backoff cap above Kong's 10s, the cap bounds Retry-After.
	d2 := newDouble(t, p, reply{code: 503, retryAfter: "3600", body: exiting})
	pusher2, _, clk2 := newTestPusher(t, p, WithBackoff(time.Second, time.Minute))
	if res := pusher2.Push(context.Background(), []Replica{d2.rep}, validConfig("a")); !res.AllInSync() {
		t.Fatal(res.Err())
	}
	if got := clk2.Sleeps(); fmt.Sprint(got) != fmt.Sprint([]time.Duration{time.Minute}) {
		t.Fatalf("waits %v, want [1m0s]", got)
	}
}

// A replica that answers later than the per-call timeout fails alone: the
// others are pushed to at the same time and hold the configuration while
// it is still waited for; it is not called again within the push, and the
// next push configures it once it answers promptly.
func TestSlowReplicaDoesNotHoldTheOthersBack(t *testing.T) {
	p := newPKI(t)
	slow := p.startKong(t, "kong-slow", "127.0.0.2", 0)
	fast := p.startKong(t, "kong-fast", "127.0.0.3", 0)
	slow.srv.SlowAdmin(kongstandin.MaxAdminDelay)

	// When the slow replica's call ends, note whether the fast replica
	// already held the configuration.
	var mu sync.Mutex
	var fastHeldWhenSlowEnded []bool
	watch := func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(r)
			if r.URL.Host == slow.srv.AdminAddrs()[0].String() {
				mu.Lock()
				fastHeldWhenSlowEnded = append(fastHeldWhenSlowEnded, fast.srv.ConfigurationHash() != zeroConfigHash)
				mu.Unlock()
			}
			return resp, err
		})
	}
	// The per-call timeout is generous for the fast replica and far short
	// of the slow one's delay.
	pusher, _, clk := newTestPusher(t, p, WithTimeout(2*time.Second), WithRoundTripper(watch))
	res := pusher.Push(context.Background(), []Replica{slow.rep, fast.rep}, validConfig("a"))
	s, f := res.Replicas[0], res.Replicas[1]
	if !f.InSync || f.Attempts != 1 {
		t.Fatalf("fast replica: %+v", f)
	}
	if s.InSync || s.Attempts != 1 || len(clk.Sleeps()) != 0 || !errors.Is(s.Err, context.DeadlineExceeded) || s.AuthFailure() != nil {
		t.Fatalf("slow replica: %+v (sleeps %v)", s, clk.Sleeps())
	}
	mu.Lock()
	held := fmt.Sprint(fastHeldWhenSlowEnded)
	mu.Unlock()
	if held != "[true]" {
		t.Fatalf("fast replica held the configuration when the slow call ended: %s, want [true] (one call, after the fast push)", held)
	}
	if got := res.Lagging(); !strings.HasPrefix(got, "not in sync: kong-slow (POST /config: no answer within the per-call timeout (2s)") {
		t.Fatalf("Lagging() = %q", got)
	}
	if slow.configHash() != zeroConfigHash || slow.srv.ConfigPosts() != 0 {
		t.Fatal("the abandoned call reached the slow replica's configuration")
	}

	slow.srv.SlowAdmin(0)
	res = pusher.Push(context.Background(), []Replica{slow.rep, fast.rep}, validConfig("a"))
	if !res.AllInSync() || res.Replicas[0].Skipped || !res.Replicas[1].Skipped {
		t.Fatalf("after the replica answers promptly: %+v (%v)", res.Replicas, res.Err())
	}
}

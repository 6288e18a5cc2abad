package dataplane

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// CheckResult is the verdict of a periodic check on one replica.
type CheckResult string

// Verdicts of Check. The first four say a full reconcile of the Gateway is
// needed or not; pending and busy mean the replica was not asked.
const (
	// CheckInSync: the replica still reports the configuration hash it
	// reported while holding the configuration last pushed to it.
	CheckInSync CheckResult = "in_sync"
	// CheckDrifted: the replica reports the all-zero hash (it restarted
	// and lost its configuration) or another hash (something replaced it).
	CheckDrifted CheckResult = "drifted"
	// CheckUnreachable: GET /status failed.
	CheckUnreachable CheckResult = "unreachable"
	// CheckNew: the replica is listed but nothing was pushed to it yet
	// (it appeared, or its name now belongs to another endpoint).
	CheckNew CheckResult = "new"
	// CheckPending: the last push to the replica failed. The reconcile
	// that saw it failing retries on its own schedule, so the check leaves
	// the replica alone.
	CheckPending CheckResult = "pending"
	// CheckBusy: a push to the replica was under way; its outcome is
	// already being recorded.
	CheckBusy CheckResult = "busy"
)

// ReplicaCheck is the outcome of checking one replica.
type ReplicaCheck struct {
	Replica Replica
	Result  CheckResult
	// Reported is the configuration hash the replica reported, and Held
	// the one it was expected to report (empty when not known yet).
	Reported, Held string
	// Err is why the replica was unreachable.
	Err error
}

// CheckReport is the outcome of one Check of a Gateway's replicas.
type CheckReport struct {
	// Replicas has one entry per listed replica, in the order given;
	// replicas a push would refuse (no name, no address, listed twice) are
	// left out.
	Replicas []ReplicaCheck
	// Gone names the replicas the Pusher remembers that are no longer
	// listed.
	Gone []string
}

// NeedsReconcile reports whether the replicas differ from what the last
// push left them holding, so that only a full reconcile (which pushes and
// writes status) can tell the truth again.
func (r CheckReport) NeedsReconcile() bool {
	if len(r.Gone) > 0 {
		return true
	}
	for _, c := range r.Replicas {
		switch c.Result {
		case CheckDrifted, CheckUnreachable, CheckNew:
			return true
		}
	}
	return false
}

// Reason says, for a log line, why a reconcile is needed.
func (r CheckReport) Reason() string {
	var parts []string
	for _, c := range r.Replicas {
		switch c.Result {
		case CheckDrifted:
			if c.Held == "" {
				parts = append(parts, fmt.Sprintf("%s reports configuration hash %q", c.Replica.Name, c.Reported))
			} else {
				parts = append(parts, fmt.Sprintf("%s reports configuration hash %q instead of %q", c.Replica.Name, c.Reported, c.Held))
			}
		case CheckUnreachable:
			parts = append(parts, fmt.Sprintf("%s is unreachable: %v", c.Replica.Name, c.Err))
		case CheckNew:
			parts = append(parts, c.Replica.Name+" is new")
		}
	}
	if len(r.Gone) > 0 {
		parts = append(parts, "gone: "+strings.Join(r.Gone, ", "))
	}
	return strings.Join(parts, "; ")
}

// judge reads a replica's answer to GET /status against held, the hash it
// reported earlier while holding the configuration last pushed to it
// (empty when not seen yet). It returns the verdict and the hash to hold
// from now on.
//
// The first non-zero hash seen after a push is taken as the replica's: Kong
// writes the hash of a configuration before it answers the POST
// (kong/db/declarative/import.lua, load_into_cache), and only the operator
// holds a client certificate the admin API accepts, so nothing else can
// have come in between. The all-zero hash is never held: the translator
// never produces a configuration Kong considers empty.
func judge(held, reported string, err error) (CheckResult, string) {
	if err != nil {
		return CheckUnreachable, held
	}
	h := strings.TrimSpace(reported)
	switch {
	case h == "" || h == zeroConfigHash:
		return CheckDrifted, held
	case held == "":
		return CheckInSync, h
	case h != held:
		return CheckDrifted, held
	}
	return CheckInSync, held
}

// Check asks each listed replica for the configuration hash it serves, one
// GET /status per replica, concurrently and without retries, and compares
// it with what the replica reported while holding the configuration last
// pushed to it. Nothing is pushed: it is the cheap test of whether a full
// reconcile is needed. Replicas with a push under way, or whose last push
// failed, are not asked. Bound the whole check with ctx's deadline.
func (p *Pusher) Check(ctx context.Context, replicas []Replica) CheckReport {
	listed := make(map[string]bool, len(replicas))
	var valid []Replica
	for _, rep := range replicas {
		// An invalid or repeated replica is never pushed to either, and
		// the reconcile reports it, so the check leaves it out.
		if validateReplica(rep) == nil && !listed[rep.Name] {
			listed[rep.Name] = true
			valid = append(valid, rep)
		}
	}
	report := CheckReport{Replicas: make([]ReplicaCheck, len(valid))}
	var wg sync.WaitGroup
	for i, rep := range valid {
		wg.Go(func() { report.Replicas[i] = p.checkOne(ctx, rep) })
	}
	wg.Wait()
	p.mu.Lock()
	for name := range p.replicas {
		if !listed[name] {
			report.Gone = append(report.Gone, name)
		}
	}
	p.mu.Unlock()
	sort.Strings(report.Gone)
	return report
}

func (p *Pusher) checkOne(ctx context.Context, rep Replica) ReplicaCheck {
	out := ReplicaCheck{Replica: rep, Result: CheckNew}
	p.mu.Lock()
	r := p.replicas[rep.Name]
	p.mu.Unlock()
	if r == nil {
		return out
	}
	// Holding the push lock for the GET keeps a push from changing the
	// replica's hash between the question and the verdict.
	if !r.push.TryLock() {
		out.Result = CheckBusy
		return out
	}
	defer r.push.Unlock()
	r.mu.Lock()
	st := r.state
	r.mu.Unlock()
	out.Held = st.ConfigurationHash
	switch {
	case st.Replica != rep:
		return out // another endpoint under the same name
	case st.SHA256 == "" || st.LastError != nil:
		out.Result = CheckPending
		return out
	}
	client, err := p.clientFor(r, rep)
	if err == nil {
		out.Reported, err = p.status(ctx, client, &callNote{})
		if err != nil && ctx.Err() == nil {
			// A connection kept alive to a Kong that has since restarted
			// fails once; the second request opens a new one, so a restart
			// reads as the zero hash it is rather than as unreachable.
			out.Reported, err = p.status(ctx, client, &callNote{})
		}
	}
	if err != nil {
		err = fmt.Errorf("replica %s: %w", rep.Name, err)
	}
	var learned string
	out.Result, learned = judge(st.ConfigurationHash, out.Reported, err)
	out.Err = err
	if out.Result == CheckInSync {
		r.mu.Lock()
		r.state.ConfigurationHash = learned
		r.state.LastSuccess = p.clock.Now()
		r.mu.Unlock()
	}
	return out
}

package kongstandin

import (
	"net/http"
	"strconv"
	"time"
)

// Faults that a test can force on a running stand-in. Kong itself cannot be
// told to misbehave, so these are the stand-in's only knobs beyond the
// KONG_* environment; each one produces exactly the answer Kong gives in
// the situation it models.

// EntityPolicy is an extra validation rule, modelling a Kong check that
// Drawbridge's translator does not know about (a stricter Kong release, a
// site's custom plugin schema). It sees each entity that passed every other
// check, as submitted, and returns a non-empty message to reject it. The
// rejection is reported like any other entity-level error: a 400 with
// flattened_errors that carry the entity's name and tags.
type EntityPolicy func(entityType string, entity map[string]any) string

// SetEntityPolicy installs (or, with nil, removes) an extra rule for later
// POST /config calls.
func (s *Server) SetEntityPolicy(p EntityPolicy) {
	if p == nil {
		s.policy.Store(nil)
		return
	}
	s.policy.Store(&p)
}

// applyPolicy runs the extra rule over a loaded declaration.
func (s *Server) applyPolicy(d *declaration) {
	p := s.policy.Load()
	if p == nil {
		return
	}
	for _, e := range d.all() {
		if len(e.errs) > 0 {
			continue
		}
		if msg := (*p)(e.typ, e.input); msg != "" {
			e.addErr("", msg)
		}
	}
	d.tree = d.errorTree()
}

// BusyFor makes the next n POST /config calls answer like a Kong worker
// that is still loading a previous configuration: 429 with Retry-After.
func (s *Server) BusyFor(n int, retryAfter time.Duration) {
	s.busyMu.Lock()
	defer s.busyMu.Unlock()
	s.busyLeft, s.busyRetryAfter = n, retryAfter
}

// busy answers a POST /config with a forced 429 and reports whether it did.
func (s *Server) busy(w http.ResponseWriter) bool {
	s.busyMu.Lock()
	if s.busyLeft <= 0 {
		s.busyMu.Unlock()
		return false
	}
	s.busyLeft--
	secs := int(s.busyRetryAfter.Round(time.Second) / time.Second)
	s.busyMu.Unlock()
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": "Currently loading previous configuration"})
	return true
}

// ConfigPosts counts the POST /config calls the stand-in has answered
// (any status), so a test can see whether a push was skipped.
func (s *Server) ConfigPosts() int64 { return s.configPosts.Load() }

// ConfigurationHash is the hash GET /status reports: all zeros until a
// non-empty configuration was loaded.
func (s *Server) ConfigurationHash() string { return s.rt.Load().hash }

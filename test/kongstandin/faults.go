package kongstandin

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
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

// UnavailableFor makes the next n POST /config calls answer like a Kong
// whose worker is shutting down: 503 {"message":"Kong currently exiting"}
// (kong/api/routes/config.lua:166-169 in Kong 3.9.3). Kong sends that answer
// without Retry-After; a retryAfter above zero adds the header (in whole
// seconds, at least 1), which RFC 9110 allows on any 503 and which Kong's
// own 429 carries, so clients that honour it on 503 can be exercised.
func (s *Server) UnavailableFor(n int, retryAfter time.Duration) {
	s.busyMu.Lock()
	defer s.busyMu.Unlock()
	s.unavailableLeft, s.unavailableRetryAfter = n, retryAfter
}

// unavailable answers a POST /config with a forced 503 and reports whether
// it did.
func (s *Server) unavailable(w http.ResponseWriter) bool {
	s.busyMu.Lock()
	if s.unavailableLeft <= 0 {
		s.busyMu.Unlock()
		return false
	}
	s.unavailableLeft--
	retryAfter := s.unavailableRetryAfter
	s.busyMu.Unlock()
	if retryAfter > 0 {
		secs := int(retryAfter.Round(time.Second) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{"message": "Kong currently exiting"})
	return true
}

// MaxAdminDelay bounds SlowAdmin: a test cannot make a call wait longer.
const MaxAdminDelay = 2 * time.Minute

// SlowAdmin makes every admin API call (not the status listener) wait d
// before it is handled, as a Kong whose worker is busy elsewhere answers
// late; 0 makes the replica prompt again. d is capped at MaxAdminDelay.
// A call whose client gives up during the wait, or that is still waiting
// when the stand-in shuts down, is dropped without an answer (the
// connection closes) and never handled, so a POST /config abandoned for
// slowness changes nothing. Calls already waiting when d changes wait
// only what remains of the new delay.
func (s *Server) SlowAdmin(d time.Duration) {
	d = min(max(d, 0), MaxAdminDelay)
	s.delayMu.Lock()
	defer s.delayMu.Unlock()
	s.adminDelay = d
	if s.delayChanged != nil {
		close(s.delayChanged)
	}
	s.delayChanged = make(chan struct{})
}

// holdAdminCall holds an admin call for the delay SlowAdmin set. It
// reports false when the call must be dropped.
func (s *Server) holdAdminCall(r *http.Request) bool {
	s.delayMu.Lock()
	d := s.adminDelay
	s.delayMu.Unlock()
	if d == 0 {
		return true
	}
	// net/http notices that an HTTP/1.1 client went away only once the
	// request body was read to its end (until then nothing reads the
	// connection), so the body is read first and handed on.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return s.waitAdminDelay(r.Context())
}

// waitAdminDelay waits out the delay SlowAdmin set. It reports false when
// ctx ends or the stand-in stops first.
func (s *Server) waitAdminDelay(ctx context.Context) bool {
	start := time.Now()
	s.adminHeld.Add(1)
	defer s.adminHeld.Add(-1)
	for {
		s.delayMu.Lock()
		d, changed := s.adminDelay, s.delayChanged
		s.delayMu.Unlock()
		left := d - time.Since(start)
		if left <= 0 {
			return ctx.Err() == nil
		}
		t := time.NewTimer(left)
		select {
		case <-t.C:
			return ctx.Err() == nil
		case <-changed:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return false
		case <-s.stopping:
			t.Stop()
			return false
		}
	}
}

// HeldAdminCalls is the number of admin calls SlowAdmin is holding now.
func (s *Server) HeldAdminCalls() int64 { return s.adminHeld.Load() }

// SetAdminClientCA makes the TLS admin listener verify client certificates
// against the PEM bundle caPEM, as a Kong whose
// KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE file held it would: a replica
// that still trusts the previous CA during a rotation. A client certificate
// that does not chain to it gets nginx's 400 "The SSL certificate error"
// page. nil goes back to the bundle read at start. The bundle applies to
// connections opened from then on; an open connection keeps the verdict of
// its handshake, as it does in nginx, where the verification result belongs
// to the TLS connection (src/http/ngx_http_request.c, SSL_get_verify_result
// in ngx_http_process_request). It fails when no TLS admin listener
// verifies client certificates (KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT off).
func (s *Server) SetAdminClientCA(caPEM []byte) error {
	c := s.adminClientCheck
	if c == nil {
		return errors.New("the admin listener does not verify client certificates (no ssl listener, or KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT=off)")
	}
	if caPEM == nil {
		c.override.Store(nil)
		return nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return errors.New("the admin client CA bundle contains no PEM certificate")
	}
	c.override.Store(pool)
	return nil
}

// ConfigPosts counts the POST /config calls the stand-in has answered
// (any status), so a test can see whether a push was skipped.
func (s *Server) ConfigPosts() int64 { return s.configPosts.Load() }

// ConfigurationHash is the hash GET /status reports: all zeros until a
// non-empty configuration was loaded.
func (s *Server) ConfigurationHash() string { return s.rt.Load().hash }

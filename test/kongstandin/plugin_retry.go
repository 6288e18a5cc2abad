package kongstandin

// drawbridge-retry, Drawbridge's own plugin
// (internal/kong/luaplugins/plugins/drawbridge-retry/handler.lua): when the
// upstream answers with a listed status, the request is sent again, after
// a backoff, up to `attempts` retries, all within `request_timeout_ms` of
// the request's arrival. The stand-in keeps the plugin's rules, not its
// mechanics: the real plugin re-enters Kong's buffered proxy location.

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"time"
)

type retryPlugin struct {
	noAccess
	noHeaderFilter
	codes            map[int]bool
	attempts         int
	backoff          time.Duration
	requestTimeoutMs int
}

func newRetryPlugin(cfg map[string]any) *retryPlugin {
	p := &retryPlugin{codes: map[int]bool{}, attempts: getInt(cfg, "attempts"), backoff: ms(getInt(cfg, "backoff_ms")), requestTimeoutMs: getInt(cfg, "request_timeout_ms")}
	if v, ok := cfg["backoff_ms"]; !ok || v == nil {
		p.backoff = 25 * time.Millisecond // schema.lua's default
	}
	if list, ok := cfg["codes"].([]any); ok {
		for _, c := range list {
			if n, ok := c.(json.Number); ok {
				if i, err := n.Int64(); err == nil {
					p.codes[int(i)] = true
				}
			}
		}
	}
	return p
}

// retryPluginOf returns the route's drawbridge-retry, if any.
func retryPluginOf(st *proxyState) *retryPlugin {
	for _, p := range st.plugins {
		if rp, ok := p.impl.(*retryPlugin); ok {
			return rp
		}
	}
	return nil
}

// backoffFor is policy.lua's backoff_ms: the base doubled per retry, at
// most ten times the base, plus up to half again as jitter.
func (p *retryPlugin) backoffFor(n int) time.Duration {
	if p.backoff <= 0 {
		return 0
	}
	d := p.backoff << min(n-1, 30)
	if limit := 10 * p.backoff; d > limit || d <= 0 {
		d = limit
	}
	return d + time.Duration(rand.Int64N(int64(d)/2+1))
}

// codeRetryTransport wraps the service's transport (which already retries
// connection failures of the first attempt, as nginx does) with the
// plugin's retries.
type codeRetryTransport struct {
	p     *retryPlugin
	first http.RoundTripper // the first attempt: Kong's own, with nginx retries
	next  http.RoundTripper // the plugin's attempts: one try each
	start time.Time
}

func (t *codeRetryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if t.p.requestTimeoutMs > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, t.start.Add(ms(t.p.requestTimeoutMs)))
		// The final answer's body is read after RoundTrip returns: cancel
		// only when it is closed.
		defer func() {
			if cancel != nil {
				cancel()
			}
		}()
		req = req.WithContext(ctx)
		resp, err := t.run(req)
		if resp != nil {
			resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
			cancel = nil
		}
		return resp, err
	}
	return t.run(req)
}

func (t *codeRetryTransport) run(req *http.Request) (*http.Response, error) {
	resp, err := t.first.RoundTrip(req)
	if err != nil {
		// Kong answers a failed first attempt itself (Kong.response).
		return nil, err
	}
	for n := 1; n <= t.p.attempts && t.p.codes[resp.StatusCode]; n++ {
		if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
			return resp, nil // a body that cannot be sent again
		}
		wait := t.p.backoffFor(n)
		if dl, ok := req.Context().Deadline(); ok && time.Until(dl) <= wait {
			return resp, nil // no time left for another attempt
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		time.Sleep(wait)
		r2 := req.Clone(req.Context())
		if req.GetBody != nil {
			if r2.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
		resp, err = t.next.RoundTrip(r2)
		for err != nil {
			// A failed retry is retried again for methods nginx sends twice.
			if n >= t.p.attempts || req.Method == http.MethodPost || req.Method == "LOCK" || req.Method == http.MethodPatch || req.Context().Err() != nil {
				return nil, err
			}
			n++
			time.Sleep(t.p.backoffFor(n))
			r2 = req.Clone(req.Context())
			if req.GetBody != nil {
				if r2.Body, err = req.GetBody(); err != nil {
					return nil, err
				}
			}
			resp, err = t.next.RoundTrip(r2)
		}
	}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

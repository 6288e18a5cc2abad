package translate

import (
	"fmt"
	"sort"
	"time"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// defaultRetryBackoffMs is the base interval between retries when a rule
// sets none (Gateway API leaves it to the implementation). The plugin
// doubles it per retry, up to ten times, and adds jitter.
const defaultRetryBackoffMs = 25

// retryPlan is an HTTPRoute rule's `retry` after validation.
//
// Kong retries connection errors and timeouts itself, as many times as the
// service's `retries` says: that is where `attempts` goes, whether or not
// codes are listed, and an explicit 0 turns them off. Retrying on response
// codes needs Drawbridge's drawbridge-retry plugin, emitted only for rules
// that list codes, so other routes keep Kong's plain proxy path.
type retryPlan struct {
	attempts         int
	codes            []int
	backoffMs        int
	requestTimeoutMs int // the plugin's deadline over every attempt; 0: none
}

// compileRetry validates rule.retry (and reads timeouts.request, which
// bounds every attempt together). It returns nil when the rule has none.
func compileRetry(rule *gwv1.HTTPRouteRule, ri int) (*retryPlan, *unsupported) {
	r := rule.Retry
	if r == nil {
		return nil, nil
	}
	// Gateway API v1.7 defaults attempts to 1; v1.6 left it open.
	p := &retryPlan{attempts: 1, backoffMs: defaultRetryBackoffMs}
	if r.Attempts != nil {
		p.attempts = *r.Attempts
	}
	if p.attempts < 0 || p.attempts > kong.MaxRetries {
		return nil, unsupportedf("rules[%d].retry.attempts %d is outside 0..%d (Kong's retries)", ri, p.attempts, kong.MaxRetries)
	}
	seen := map[int]bool{}
	for ci, c := range r.Codes {
		code := int(c)
		if code < kong.RetryMinCode || code > kong.RetryMaxCode {
			return nil, unsupportedf("rules[%d].retry.codes[%d] %d is not a status in %d..%d", ri, ci, code, kong.RetryMinCode, kong.RetryMaxCode)
		}
		if !seen[code] {
			seen[code] = true
			p.codes = append(p.codes, code)
		}
	}
	sort.Ints(p.codes)
	if r.Backoff != nil {
		ms, u := durationMs(fmt.Sprintf("rules[%d].retry.backoff", ri), string(*r.Backoff))
		if u != nil {
			return nil, u
		}
		p.backoffMs = ms
	}
	if to := rule.Timeouts; to != nil && to.Request != nil {
		ms, u := durationMs(fmt.Sprintf("rules[%d].timeouts.request", ri), string(*to.Request))
		if u != nil {
			return nil, u
		}
		// "0s" disables the request timeout: no deadline.
		p.requestTimeoutMs = ms
	}
	return p, nil
}

// durationMs converts a Gateway API duration to milliseconds, rounding a
// positive value below 1 ms up to 1 and capping at Kong's largest timeout.
func durationMs(field, d string) (int, *unsupported) {
	v, err := time.ParseDuration(d)
	if err != nil || v < 0 {
		return 0, unsupportedf("%s %q is not a valid duration", field, d)
	}
	if v == 0 {
		return 0, nil
	}
	ms := v.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	if ms > kong.MaxTimeoutMs {
		ms = kong.MaxTimeoutMs
	}
	return int(ms), nil
}

// usesPlugin says whether the rule needs drawbridge-retry: codes to retry
// on and at least one retry allowed.
func (p *retryPlan) usesPlugin() bool {
	return p != nil && len(p.codes) > 0 && p.attempts > 0
}

// plugin is the drawbridge-retry instance for one Kong route of the rule.
func (p *retryPlan) plugin(tags []string) kong.Plugin {
	return kong.Plugin{Name: kong.PluginDrawbridgeRetry, Tags: tags, Config: map[string]any{
		"codes":              append([]int(nil), p.codes...),
		"attempts":           p.attempts,
		"backoff_ms":         p.backoffMs,
		"request_timeout_ms": p.requestTimeoutMs,
	}}
}

package dataplane

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Clock is the time source of a Pusher. Tests replace it so that retries
// and Retry-After waits are observed without sleeping.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, whichever comes first, and
	// returns ctx.Err() in the latter case.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx is done.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Backoff computes capped exponential delays with jitter: before retry n
// (n = 1 after the first failure) the ceiling is min(Base*2^(n-1), Cap), and
// the delay is drawn from [ceiling/2, ceiling] ("equal jitter"), so replicas
// that failed together do not retry in lockstep while the delay still grows.
type Backoff struct {
	Base time.Duration
	Cap  time.Duration
	// Jitter returns a value in [0, n); nil means math/rand/v2.
	Jitter func(n int64) int64
}

// Delay returns the wait before retry n (n >= 1).
func (b Backoff) Delay(n int) time.Duration {
	ceiling := b.ceiling(n)
	if ceiling <= 1 {
		return ceiling
	}
	half := ceiling / 2
	jitter := b.Jitter
	if jitter == nil {
		jitter = rand.Int64N
	}
	return half + time.Duration(jitter(int64(ceiling-half)+1))
}

func (b Backoff) ceiling(n int) time.Duration {
	if b.Base <= 0 {
		return 0
	}
	limit := b.Cap
	if limit < b.Base {
		limit = b.Base
	}
	d := b.Base
	for i := 1; i < n; i++ {
		if d >= limit/2 {
			return limit
		}
		d *= 2
	}
	if d > limit {
		return limit
	}
	return d
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110 section 10.2.3). ok is false when the header is absent or
// malformed.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		const maxSecs = int64(24 * time.Hour / time.Second)
		if secs > maxSecs {
			secs = maxSecs
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

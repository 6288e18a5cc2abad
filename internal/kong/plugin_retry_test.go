package kong

import (
	"strings"
	"testing"
)

func TestCheckDrawbridgeRetry(t *testing.T) {
	valid := func() map[string]any {
		return map[string]any{"codes": []int{500, 503}, "attempts": 2, "backoff_ms": 25, "request_timeout_ms": 0}
	}
	if p := checkDrawbridgeRetry(valid()); len(p) != 0 {
		t.Fatalf("valid config refused: %v", p)
	}
	// The form encoding/json gives back when a config is parsed again.
	parsed := map[string]any{"codes": []any{float64(429)}, "attempts": float64(32767), "backoff_ms": float64(0), "request_timeout_ms": float64(MaxTimeoutMs)}
	if p := checkDrawbridgeRetry(parsed); len(p) != 0 {
		t.Fatalf("parsed config refused: %v", p)
	}
	cases := []struct {
		name   string
		mutate func(map[string]any)
		want   string
	}{
		{"no codes", func(c map[string]any) { delete(c, "codes") }, "non-empty"},
		{"empty codes", func(c map[string]any) { c["codes"] = []int{} }, "non-empty"},
		{"code below 400", func(c map[string]any) { c["codes"] = []int{399} }, "400..599"},
		{"code above 599", func(c map[string]any) { c["codes"] = []any{float64(600)} }, "400..599"},
		{"zero attempts", func(c map[string]any) { c["attempts"] = 0 }, "attempts"},
		{"too many attempts", func(c map[string]any) { c["attempts"] = MaxRetries + 1 }, "attempts"},
		{"negative backoff", func(c map[string]any) { c["backoff_ms"] = -1 }, "backoff_ms"},
		{"fractional timeout", func(c map[string]any) { c["request_timeout_ms"] = 1.5 }, "request_timeout_ms"},
		{"unknown field", func(c map[string]any) { c["per_try_timeout"] = 1 }, "unknown field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(c)
			p := strings.Join(checkDrawbridgeRetry(c), "; ")
			if !strings.Contains(p, tc.want) {
				t.Fatalf("problems %q do not mention %q", p, tc.want)
			}
		})
	}
}

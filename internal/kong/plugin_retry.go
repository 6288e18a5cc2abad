package kong

// PluginDrawbridgeRetry is Drawbridge's own plugin
// (internal/kong/luaplugins/plugins/drawbridge-retry) that retries a
// request on the response statuses an HTTPRoute rule lists.
const PluginDrawbridgeRetry = "drawbridge-retry"

// Limits of drawbridge-retry's schema.lua.
const (
	RetryMinCode = 400
	RetryMaxCode = 599
)

// checkDrawbridgeRetry mirrors drawbridge-retry/schema.lua: codes is a
// non-empty array of integers in 400..599, attempts is in 1..MaxRetries,
// backoff_ms and request_timeout_ms are in 0..MaxTimeoutMs.
func checkDrawbridgeRetry(cfg map[string]any) []string {
	problems := unknownKeys(cfg, "codes", "attempts", "backoff_ms", "request_timeout_ms")
	var codes []any
	switch t := cfg["codes"].(type) {
	case []any:
		codes = t
	case []int:
		for _, c := range t {
			codes = append(codes, c)
		}
	}
	if len(codes) == 0 {
		problems = append(problems, "codes must be a non-empty array of integers")
	}
	for _, c := range codes {
		if n, ok := asInt(c); !ok || n < RetryMinCode || n > RetryMaxCode {
			problems = append(problems, "codes must be integers in 400..599")
			break
		}
	}
	if n, ok := asInt(cfg["attempts"]); !ok || n < 1 || n > MaxRetries {
		problems = append(problems, "attempts must be an integer in 1..32767")
	}
	for _, k := range []string{"backoff_ms", "request_timeout_ms"} {
		raw, present := cfg[k]
		if !present {
			continue
		}
		if n, ok := asInt(raw); !ok || n < 0 || n > MaxTimeoutMs {
			problems = append(problems, k+" must be an integer in 0..2147483646")
		}
	}
	return problems
}

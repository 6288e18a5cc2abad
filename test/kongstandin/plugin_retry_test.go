package kongstandin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// drawbridge-retry in the stand-in follows the plugin's rules, which
// test/kongplugins/retry_test.go checks on real Kong: listed statuses are
// retried up to attempts, others are not, and the request timeout bounds
// every attempt together.
func TestDrawbridgeRetry(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		mu.Lock()
		n := seen[q.Get("id")]
		seen[q.Get("id")]++
		mu.Unlock()
		if after, _ := strconv.Atoi(q.Get("fail")); n < after {
			if d, err := time.ParseDuration(q.Get("delay")); err == nil {
				time.Sleep(d)
			}
			code, _ := strconv.Atoi(q.Get("code"))
			w.WriteHeader(code)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(backend.Close)
	s := startStandin(t, map[string]string{"KONG_PLUGINS": "bundled,drawbridge-retry"})
	route := func(name string, cfg map[string]any) map[string]any {
		return map[string]any{"name": name, "expression": `http.path == "/` + name + `"`, "strip_path": false,
			"plugins": []any{map[string]any{"name": "drawbridge-retry", "config": cfg}}}
	}
	s.mustConfig(svcConfig(backend.Listener.Addr().String(),
		route("codes", map[string]any{"codes": []any{json.Number("500")}, "attempts": json.Number("2"), "backoff_ms": json.Number("0"), "request_timeout_ms": json.Number("0")}),
		route("deadline", map[string]any{"codes": []any{json.Number("500")}, "attempts": json.Number("5"), "backoff_ms": json.Number("0"), "request_timeout_ms": json.Number("300")}),
	))
	for i, c := range []struct {
		path, code, fail, delay string
		want, hits              int
	}{
		{"/codes", "500", "2", "", 200, 3},
		{"/codes", "500", "3", "", 500, 3},
		{"/codes", "503", "1", "", 503, 1},
		{"/deadline", "500", "1", "", 200, 2},
		{"/deadline", "500", "5", "200ms", 504, 2},
	} {
		id := strconv.Itoa(i)
		resp, body := s.do("GET", s.proxyURL()+c.path+"?id="+id+"&code="+c.code+"&fail="+c.fail+"&delay="+c.delay, nil, nil)
		if resp.StatusCode != c.want {
			t.Fatalf("%d %s: status %d, want %d (%v)", i, c.path, resp.StatusCode, c.want, body)
		}
		mu.Lock()
		got := seen[id]
		mu.Unlock()
		if got != c.hits {
			t.Fatalf("%d %s: backend got %d requests, want %d", i, c.path, got, c.hits)
		}
	}
}

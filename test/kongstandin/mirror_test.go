package kongstandin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMirrorPlugin: drawbridge-mirror (named in KONG_PLUGINS) copies the
// request as the backend gets it, after request-transformer, with its
// body, to the mirror; a share of 0 copies nothing; the client's answer is
// the backend's.
func TestMirrorPlugin(t *testing.T) {
	s := startStandin(t, map[string]string{"KONG_PLUGINS": "bundled,drawbridge-mirror"})
	_, backend := startEcho(t, "backend")
	var mu sync.Mutex
	var got []*http.Request
	var bodies []string
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r)
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	t.Cleanup(mirror.Close)
	ep := strings.TrimPrefix(mirror.URL, "http://")
	route := pluginRoute(`http.path ^= "/m"`,
		map[string]any{"name": "request-transformer", "config": map[string]any{"add": map[string]any{"headers": []any{"X-Added:yes"}}}},
		map[string]any{"name": "drawbridge-mirror", "config": map[string]any{"mirrors": []any{
			map[string]any{"name": "ns/m:80", "endpoints": []any{ep}, "numerator": json.Number("1"), "denominator": json.Number("1")},
			map[string]any{"name": "ns/none:80", "endpoints": []any{ep}, "numerator": json.Number("0"), "denominator": json.Number("100")},
		}}})
	route["strip_path"] = false
	s.mustConfig(svcConfig(backend, route))
	resp, body := s.do("POST", s.proxyURL()+"/m/x?q=1", []byte("payload"), map[string]string{"X-Client": "c"})
	if resp.StatusCode != 200 || body["name"] != "backend" {
		t.Fatalf("answer %d %v", resp.StatusCode, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("mirror got %d copies, want 1", len(got))
	}
	r := got[0]
	if r.Method != "POST" || r.RequestURI != "/m/x?q=1" || bodies[0] != "payload" ||
		r.Header.Get("X-Added") != "yes" || r.Header.Get("X-Client") != "c" || r.Header.Get("X-Forwarded-For") == "" {
		t.Fatalf("copy %s %s body %q headers %v", r.Method, r.RequestURI, bodies[0], r.Header)
	}
}

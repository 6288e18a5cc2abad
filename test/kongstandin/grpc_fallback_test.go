package kongstandin

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Confirmed on Kong 3.9.3 with the translator's grpc-exact-method output:
// an unmatched gRPC request (h2c) gets HTTP 404 with grpc-status 12 from
// the catch-all route, an HTTP/1.1 request with a gRPC Content-Type and a
// plain request get Kong's JSON 404, and without the catch-all Kong's own
// answer to the gRPC request is 404 with grpc-status 5 "NotFound".
func TestUnmatchedGRPCAnswersUnimplemented(t *testing.T) {
	port := freePort(t)
	s := startStandin(t, map[string]string{
		"KONG_PROXY_LISTEN": "127.0.0.1:" + strconv.Itoa(port) + " http2",
		"KONG_PORT_MAPS":    "80:" + strconv.Itoa(port),
	})
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	h2 := &http.Client{Timeout: testTimeout, Transport: &http.Transport{Protocols: &h2c}}
	h1 := &http.Client{Timeout: testTimeout}
	do := func(c *http.Client, ct string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", s.proxyURL()+"/nope.Svc/Method", strings.NewReader(""))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	cfg := goldenConfig(t, "grpc-exact-method", "127.0.0.1:1", true)
	s.mustConfig(cfg)
	resp, _ := do(h2, "application/grpc")
	if resp.StatusCode != 404 || resp.Header.Get("Grpc-Status") != "12" || resp.Header.Get("Content-Type") != "application/grpc" {
		t.Errorf("unmatched gRPC: %d %v", resp.StatusCode, resp.Header)
	}
	for _, c := range []struct {
		client *http.Client
		ct     string
	}{{h1, "application/grpc"}, {h1, ""}, {h2, "application/json"}} {
		resp, body := do(c.client, c.ct)
		if resp.StatusCode != 404 || resp.Header.Get("Grpc-Status") != "" || !strings.Contains(body, msgNoRoute) {
			t.Errorf("%s %q: %d %v %q, want Kong's JSON 404", resp.Proto, c.ct, resp.StatusCode, resp.Header, body)
		}
	}
	// Kong's own answer without the catch-all route.
	services := cfg["services"].([]any)
	var kept []any
	for _, svc := range services {
		if !strings.Contains(svc.(map[string]any)["name"].(string), "grpc-unimplemented") {
			kept = append(kept, svc)
		}
	}
	cfg["services"] = kept
	s.mustConfig(cfg)
	resp, _ = do(h2, "application/grpc")
	if resp.StatusCode != 404 || resp.Header.Get("Grpc-Status") != "5" || resp.Header.Get("Grpc-Message") != "NotFound" {
		t.Errorf("Kong's own gRPC 404: %d %v", resp.StatusCode, resp.Header)
	}
}

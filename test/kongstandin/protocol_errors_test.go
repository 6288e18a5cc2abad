package kongstandin

import (
	"net/http"
	"testing"
)

// Source: Kong 3.9.3 kong/runloop/handler.lua answers the protocol checks
// with kong.response.error (426 "Please use HTTPS protocol", 415 "Non-gRPC
// request matched gRPC route"), whose JSON body carries request_id; seen
// on real Kong by test/kongdiff (grpc-and-http-same-listener).
func TestProtocolErrorsCarryRequestID(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	s.mustConfig(svcConfig(a,
		map[string]any{"name": "g", "protocols": []any{"grpc"}, "expression": `http.path ^= "/g"`},
		map[string]any{"name": "s", "protocols": []any{"https"}, "expression": `http.path ^= "/s"`},
	))
	for path, want := range map[string]int{"/g": http.StatusUnsupportedMediaType, "/s": http.StatusUpgradeRequired} {
		resp, body := s.do("GET", s.proxyURL()+path, nil, nil)
		if resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d", path, resp.StatusCode, want)
		}
		if id, _ := body["request_id"].(string); id == "" || id != resp.Header.Get("X-Kong-Request-Id") {
			t.Errorf("%s: body request_id %q, header %q", path, id, resp.Header.Get("X-Kong-Request-Id"))
		}
	}
}

// Source: Kong 3.9.3 kong/runloop/handler.lua: a request with a gRPC
// content type that is not HTTP/2 and matches a gRPC route gets 426
// "Please use HTTP2 protocol" with Upgrade: HTTP/2; seen on real Kong by
// test/kongdiff.
func TestGRPCOverHTTP1Gets426(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	s.mustConfig(svcConfig(a, map[string]any{"name": "g", "protocols": []any{"grpc"}, "expression": `http.path ^= "/g"`}))
	resp, body := s.do("POST", s.proxyURL()+"/g.S/M", nil, map[string]string{"Content-Type": "application/grpc"})
	if resp.StatusCode != http.StatusUpgradeRequired || body["message"] != "Please use HTTP2 protocol" || resp.Header.Get("Upgrade") != "HTTP/2" {
		t.Errorf("gRPC over HTTP/1.1: %d %v Upgrade=%q", resp.StatusCode, body, resp.Header.Get("Upgrade"))
	}
}

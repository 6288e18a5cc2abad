package kongstandin

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Kong's send() (kong/pdk/response.lua) turns every exit of a gRPC request
// (HTTP/2, Content-Type application/grpc...) into a gRPC answer: no body,
// grpc-status mapped from the HTTP status, grpc-message from the body
// meant for an HTTP client. Seen on Kong 3.9.3 by test/kongdiff: a
// pre-function exit(500, {message=...}) gives 500 with grpc-status 13 and
// that message, exit(302, "redirecting") gives grpc-status 2 (Unknown) and
// grpc-message "redirecting", neither with a Content-Type.
func TestGRPCRequestExitsBecomeGRPCAnswers(t *testing.T) {
	port := freePort(t)
	s := startStandin(t, map[string]string{
		"KONG_PROXY_LISTEN": "127.0.0.1:" + strconv.Itoa(port) + " http2",
		"KONG_PORT_MAPS":    "80:" + strconv.Itoa(port),
	})
	preFunction := func(path, code string) map[string]any {
		return map[string]any{
			"name": "r" + strings.ReplaceAll(path, "/", "-"), "expression": `http.path == "` + path + `"`,
			"plugins": []any{map[string]any{"name": "pre-function", "config": map[string]any{"access": []any{code}}}},
		}
	}
	s.mustConfig(svcConfig("127.0.0.1:1",
		preFunction("/table", `kong.response.exit(500, { message = "no backend" })`),
		preFunction("/string", `kong.response.exit(302, "redirecting", { ["Location"] = "https://x.example/" })`),
		preFunction("/nomessage", `kong.response.exit(403, { other = "x" })`),
		preFunction("/given", `kong.response.exit(404, nil, { ["Content-Type"] = "application/grpc", ["grpc-status"] = "12", ["grpc-message"] = "mine" })`),
		preFunction("/error", `kong.response.error(429, "slow down")`),
		map[string]any{"name": "term", "expression": `http.path == "/term"`, "plugins": []any{map[string]any{
			"name": "request-termination", "config": map[string]any{"status_code": json.Number("503"), "message": "maintenance"}}}},
	))
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	h2 := &http.Client{Timeout: testTimeout, Transport: &http.Transport{Protocols: &h2c},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(path, ct string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", s.proxyURL()+path, strings.NewReader(""))
		req.Header.Set("Content-Type", ct)
		resp, err := h2.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for _, c := range []struct {
		path, status, grpcStatus, grpcMessage, contentType string
	}{
		{"/table", "500", "13", "no backend", ""},
		{"/string", "302", "2", "redirecting", ""},
		{"/nomessage", "403", "7", "PermissionDenied", ""},
		{"/given", "404", "12", "mine", "application/grpc"},
		{"/error", "429", "8", "ResourceExhausted", "application/grpc"},
		{"/term", "503", "14", "maintenance", ""},
	} {
		resp, body := do(c.path, "application/grpc")
		got := []string{strconv.Itoa(resp.StatusCode), resp.Header.Get("Grpc-Status"), resp.Header.Get("Grpc-Message"), resp.Header.Get("Content-Type")}
		want := []string{c.status, c.grpcStatus, c.grpcMessage, c.contentType}
		if strings.Join(got, "|") != strings.Join(want, "|") || body != "" {
			t.Errorf("gRPC %s: got %q body %q, want %q and no body", c.path, got, body, want)
		}
	}
	// The same exits for a request that is not gRPC keep their bodies.
	resp, body := do("/table", "application/json")
	if resp.StatusCode != 500 || resp.Header.Get("Grpc-Status") != "" || body != `{"message":"no backend"}` ||
		resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("non-gRPC /table: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	resp, body = do("/string", "text/plain")
	if resp.StatusCode != 302 || resp.Header.Get("Grpc-Status") != "" || body != "redirecting" {
		t.Errorf("non-gRPC /string: %d %v %q", resp.StatusCode, resp.Header, body)
	}
}

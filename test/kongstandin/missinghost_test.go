package kongstandin

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// An HTTP/1.1 request without Host gets Kong's 400 and the connection is
// closed, as on Kong 3.9.3; one with a Host on the same listener is routed.
func TestMissingHostAnswersLikeKong(t *testing.T) {
	s := startStandin(t, nil)
	addr := s.srv.ProxyAddrs()[0].String()
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(testTimeout))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.HasPrefix(string(body), "Bad request\nrequest_id: ") {
		t.Errorf("answer %d %q, want Kong's 400 \"Bad request\" with request_id", resp.StatusCode, body)
	}
	if !resp.Close {
		t.Error("the answer does not close the connection (Connection: close)")
	}
	for h, want := range map[string]string{"Content-Type": "text/plain; charset=utf-8", "Server": "kong/" + KongVersion} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if id := resp.Header.Get("X-Kong-Request-Id"); id == "" || !strings.Contains(string(body), id) {
		t.Errorf("X-Kong-Request-Id %q is not the body's request_id %q", id, body)
	}

	resp2, err := http.Get("http://" + addr + "/nothing-routes-here")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 404 {
		t.Errorf("a request with Host: %d, want Kong's 404", resp2.StatusCode)
	}
}

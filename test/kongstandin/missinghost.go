package kongstandin

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"time"
)

// An HTTP/1.1 request without a Host header is refused by nginx before Kong
// routes it; Kong's error handler answers 400 text/plain "Bad request" with
// its request id and closes the connection (seen on Kong 3.9.3). Go's
// HTTP/1 server refuses such a request itself, before any handler runs,
// with its own page written in a single Write. The proxy's plain listeners
// rewrite exactly that write into Kong's answer. (On TLS listeners the
// server wraps the connection itself, so there Go's page remains.)

// goMissingHostPage is how Go's server starts its page for this refusal
// (net/http server.go, statusError: "HTTP/1.1 %d %s: %s").
const goMissingHostPage = "HTTP/1.1 400 Bad Request: missing required Host header\r\n"

type kongErrorPageListener struct{ net.Listener }

func (l kongErrorPageListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &kongErrorPageConn{Conn: c}, nil
}

type kongErrorPageConn struct{ net.Conn }

func (c *kongErrorPageConn) Write(b []byte) (int, error) {
	if !bytes.HasPrefix(b, []byte(goMissingHostPage)) {
		return c.Conn.Write(b)
	}
	if _, err := c.Conn.Write(missingHostAnswer(newRequestID(), time.Now())); err != nil {
		return 0, err
	}
	return len(b), nil
}

// missingHostAnswer is Kong's answer to a request without Host.
func missingHostAnswer(reqID string, now time.Time) []byte {
	body := "Bad request\nrequest_id: " + reqID + "\n"
	return fmt.Appendf(nil, "HTTP/1.1 400 Bad Request\r\nDate: %s\r\nContent-Type: text/plain; charset=utf-8\r\n"+
		"Connection: close\r\nContent-Length: %d\r\nX-Kong-Response-Latency: 0\r\nServer: kong/%s\r\n"+
		"X-Kong-Request-Id: %s\r\n\r\n%s", now.UTC().Format(http.TimeFormat), len(body), KongVersion, reqID, body)
}

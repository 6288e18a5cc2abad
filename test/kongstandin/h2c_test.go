package kongstandin

import "testing"

// The rebuilt :path of an h2c upstream: decode, then nginx's own escaping
// (checked against real Kong by test/kongplugins TestH2CBackendProtocol and
// the differential suite's backend-app-protocol-h2c cases).
func TestH2CRebuiltPath(t *testing.T) {
	for _, c := range []struct{ upstreamURI, want string }{
		{"/~", "/~"},
		{"/a%7Cb", "/a%7Cb"},
		{"/new/p%20q", "/new/p%20q"},
		{"/~/%2F", "/~//"},           // reserved escapes arrive decoded
		{"/a%3Fb%23c", "/a%3Fb%23c"}, // ? and # are escaped again
		{"/%25", "/%25"},
		{"/%E2%82%AC", "/%E2%82%AC"},
		{"/a+b%2", "/a+b%252"}, // a stray % is escaped, as nginx does
	} {
		if got := nginxEscapeURI(percentDecode(c.upstreamURI)); got != c.want {
			t.Errorf("%s: got %s, want %s", c.upstreamURI, got, c.want)
		}
	}
}

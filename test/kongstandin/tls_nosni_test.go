package kongstandin

import "testing"

// Source: Kong 3.9.3 kong/runloop/certificate.lua find_certificate: a
// client without SNI gets the default certificate, even with a "*" SNI
// configured; seen on real Kong by test/kongdiff (https-misdirected).
func TestNoSNIServesDefaultCertificate(t *testing.T) {
	s := startStandin(t, nil)
	ca := newCA(t, "ca")
	c, k := ca.issue(t, "catchall", nil, false)
	_, a := startEcho(t, "a")
	doc := svcConfig(a, map[string]any{"name": "r", "expression": `http.path ^= "/"`})
	doc["certificates"] = []any{map[string]any{"cert": c, "key": k, "snis": []any{map[string]any{"name": "*"}}}}
	s.mustConfig(doc)
	if cn, _ := peerCN(t, s.proxyTLSAddr(), "any.test", nil); cn != "catchall" {
		t.Errorf("with SNI: served %q, want the catch-all", cn)
	}
	if cn, _ := peerCN(t, s.proxyTLSAddr(), "", nil); cn != "localhost" {
		t.Errorf("without SNI: served %q, want the default certificate", cn)
	}
}

package kongstandin

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A forced entity rule is reported exactly like Kong's own entity-level
// errors (reference 1.3: flattened_errors with entity_name and entity_tags),
// and the configuration in force stays.
func TestEntityPolicyRejectsLikeKong(t *testing.T) {
	s := startStandin(t, nil)
	good := svcConfig("127.0.0.1:9", map[string]any{"name": "ok", "expression": `http.path == "/a"`})
	s.mustConfig(good)
	_, before := s.do("GET", s.admin+"/status", nil, nil)

	s.srv.SetEntityPolicy(func(typ string, e map[string]any) string {
		if typ == "route" && e["name"] == "poisoned" {
			return "route is refused by site policy"
		}
		return ""
	})
	bad := svcConfig("127.0.0.1:9",
		map[string]any{"name": "ok", "expression": `http.path == "/a"`},
		map[string]any{"name": "poisoned", "expression": `http.path == "/b"`, "tags": []any{"k8s-kind:HTTPRoute", "k8s-name:evil"}})
	code, body := s.postConfig(bad)
	if code != http.StatusBadRequest || body["code"].(float64) != 14 {
		t.Fatalf("POST /config = %d %v, want 400 code 14", code, body)
	}
	flat := body["flattened_errors"].([]any)
	if len(flat) != 1 {
		t.Fatalf("flattened_errors = %v, want the one poisoned route", flat)
	}
	entry := flat[0].(map[string]any)
	if entry["entity_type"] != "route" || entry["entity_name"] != "poisoned" || len(entry["entity_tags"].([]any)) != 2 {
		t.Errorf("entry = %v", entry)
	}
	errs := entry["errors"].([]any)
	if e := errs[0].(map[string]any); e["type"] != "entity" || !strings.Contains(e["message"].(string), "site policy") {
		t.Errorf("errors = %v", errs)
	}
	if _, after := s.do("GET", s.admin+"/status", nil, nil); after["configuration_hash"] != before["configuration_hash"] {
		t.Errorf("hash changed after a rejection: %v -> %v", before["configuration_hash"], after["configuration_hash"])
	}

	s.srv.SetEntityPolicy(nil)
	s.mustConfig(bad)
}

// A forced busy worker answers 429 with Retry-After (reference 1.2), for
// exactly the number of calls asked, and every call is counted.
func TestBusyForAnswers429WithRetryAfter(t *testing.T) {
	s := startStandin(t, nil)
	s.srv.BusyFor(2, 3*time.Second)
	cfg := svcConfig("127.0.0.1:9", map[string]any{"name": "ok", "expression": `http.path == "/a"`})
	for i := 0; i < 2; i++ {
		resp, _ := s.do("POST", s.admin+"/config", mustJSON(t, cfg), map[string]string{"Content-Type": "application/json"})
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" {
			t.Fatalf("call %d = %d Retry-After %q, want 429 with 3", i, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	s.mustConfig(cfg)
	if n := s.srv.ConfigPosts(); n != 3 {
		t.Errorf("ConfigPosts = %d, want 3", n)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A forced 503 is Kong's answer while its worker exits (config.lua in Kong
// 3.9.3): no Retry-After unless the test asks for one, for exactly the
// number of calls asked; the configuration in force stays.
func TestUnavailableForAnswers503(t *testing.T) {
	s := startStandin(t, nil)
	cfg := svcConfig("127.0.0.1:9", map[string]any{"name": "ok", "expression": `http.path == "/a"`})
	post := func() *http.Response {
		resp, _ := s.do("POST", s.admin+"/config", mustJSON(t, cfg), map[string]string{"Content-Type": "application/json"})
		return resp
	}
	s.srv.UnavailableFor(1, 0)
	if resp := post(); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "" {
		t.Fatalf("POST /config = %d Retry-After %q, want 503 without it", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if got := s.srv.ConfigurationHash(); got != zeroHash {
		t.Fatalf("a 503 loaded the configuration (hash %s)", got)
	}
	s.srv.UnavailableFor(2, 2*time.Second)
	for i := range 2 {
		resp, body := s.do("POST", s.admin+"/config", mustJSON(t, cfg), map[string]string{"Content-Type": "application/json"})
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "2" || body["message"] != "Kong currently exiting" {
			t.Fatalf("call %d = %d Retry-After %q %v, want 503 with 2", i, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	s.mustConfig(cfg)
	if n := s.srv.ConfigPosts(); n != 4 {
		t.Errorf("ConfigPosts = %d, want 4", n)
	}
}

// A slow admin API holds each call; a client that gives up first gets no
// answer and the call is never handled; making the replica prompt again
// releases the calls that wait. The status listener is never held.
func TestSlowAdminHoldsCallsUntilReleased(t *testing.T) {
	s := startStandin(t, nil)
	cfg := mustJSON(t, svcConfig("127.0.0.1:9", map[string]any{"name": "ok", "expression": `http.path == "/a"`}))
	s.srv.SlowAdmin(time.Hour) // capped at MaxAdminDelay, far beyond every client timeout here
	impatient := &http.Client{Timeout: 200 * time.Millisecond}
	resp, err := impatient.Post(s.admin+"/config", "application/json", bytes.NewReader(cfg))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a slow replica answered %d at once", resp.StatusCode)
	}
	if resp, body := s.do("GET", s.status+"/status", nil, nil); resp.StatusCode != http.StatusOK || body["configuration_hash"] != zeroHash {
		t.Fatalf("status listener: %d %v", resp.StatusCode, body)
	}
	// The abandoned call is dropped, not held until the delay ends.
	for deadline := time.Now().Add(testTimeout); s.srv.HeldAdminCalls() > 0; {
		if time.Now().After(deadline) {
			t.Fatal("the abandoned call is still held")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A call waiting when the delay is lifted goes through.
	done := make(chan int, 1)
	go func() {
		patient := &http.Client{Timeout: testTimeout}
		resp, err := patient.Post(s.admin+"/config", "application/json", bytes.NewReader(cfg))
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	// Lift the delay only once the call is held.
	for deadline := time.Now().Add(testTimeout); ; {
		if s.srv.HeldAdminCalls() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the call never reached the stand-in")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.srv.SlowAdmin(0)
	if code := <-done; code != http.StatusCreated {
		t.Fatalf("released call = %d, want 201", code)
	}
	if got := s.srv.ConfigurationHash(); got == zeroHash {
		t.Fatal("the released call did not load the configuration")
	}
	if n := s.srv.ConfigPosts(); n != 1 {
		t.Fatalf("%d POST /config handled, want 1: the abandoned call must never be", n)
	}
}

// SetAdminClientCA makes the admin listener refuse certificates of every
// other CA with nginx's page, for connections opened from then on; nil
// goes back to the configured bundle. Without client verification there
// is nothing to replace.
func TestSetAdminClientCARefusesOtherCertificates(t *testing.T) {
	ca := newCA(t, "operator-ca")
	previous := newCA(t, "previous-ca")
	s, addr, pool := startMutualTLSAdmin(t, ca, "1")
	certPEM, keyPEM := ca.issue(t, "operator", nil, true)
	pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	newClient := func() *http.Client {
		return &http.Client{Timeout: testTimeout, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost", GetClientCertificate: offerAnyway([]tls.Certificate{pair})}}}
	}
	get := func(c *http.Client) (int, string, string) {
		t.Helper()
		resp, err := c.Get("https://" + addr + "/status")
		if err != nil {
			t.Fatalf("GET /status: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Proto, string(b)
	}
	kept := newClient()
	if code, proto, _ := get(kept); code != http.StatusOK || proto != "HTTP/1.1" {
		t.Fatalf("operator certificate: %d over %s, want 200 over HTTP/1.1 (no http2 flag)", code, proto)
	}

	if err := s.srv.SetAdminClientCA(previous.pem); err != nil {
		t.Fatal(err)
	}
	if code, _, body := get(newClient()); code != http.StatusBadRequest || !strings.Contains(body, "<title>400 The SSL certificate error</title>") {
		t.Fatalf("after SetAdminClientCA: %d %q, want nginx's 400 page", code, body)
	}
	// The connection opened before keeps its handshake's verdict.
	if code, _, _ := get(kept); code != http.StatusOK {
		t.Fatalf("open connection after SetAdminClientCA: %d, want 200", code)
	}

	if err := s.srv.SetAdminClientCA(nil); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := get(newClient()); code != http.StatusOK {
		t.Fatalf("after SetAdminClientCA(nil): %d, want 200", code)
	}
	if err := s.srv.SetAdminClientCA([]byte("not a certificate")); err == nil {
		t.Error("a bundle without a certificate was taken")
	}
	plain := startStandin(t, nil)
	if err := plain.srv.SetAdminClientCA(previous.pem); err == nil {
		t.Error("SetAdminClientCA on a listener without client verification did not fail")
	}
}

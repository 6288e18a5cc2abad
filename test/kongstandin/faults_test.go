package kongstandin

import (
	"encoding/json"
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

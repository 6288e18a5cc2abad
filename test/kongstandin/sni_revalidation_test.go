package kongstandin

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// Kong 3.9.3 (probed directly, and by test/kongdiff on the goldens): when
// a configuration fails its schema check, every SNI nested as an object in
// a certificate adds "certificate: required field missing" from flatten()'s
// second validation pass. With a valid certificate id it becomes an entry
// of entity_type "certificate" holding only {id}; without one it stays a
// field error on the SNI. Errors found later (references, uniqueness) add
// nothing.
func TestSNIRevalidationErrors(t *testing.T) {
	s := startStandin(t, nil)
	ca := newCA(t, "ca")
	cert, key := ca.issue(t, "a", []string{"a.example.com"}, false)
	const certID = "6bf9a2b4-7a3e-4d7f-9e4c-1a2b3c4d5e6f"
	badRoute := map[string]any{"name": "r", "expression": `http.path == "/"`, "priority": json.Number("70368744177664")}
	goodRoute := map[string]any{"name": "r", "expression": `http.path == "/"`}
	snis := func(names ...string) []any {
		var out []any
		for _, n := range names {
			out = append(out, map[string]any{"name": n})
		}
		return out
	}
	doc := func(withID bool, certSNIs []any, routes ...any) map[string]any {
		c := map[string]any{"cert": cert, "key": key, "snis": certSNIs}
		if withID {
			c["id"] = certID
		}
		return map[string]any{
			"_format_version": "3.0",
			"certificates":    []any{c},
			"services":        []any{map[string]any{"name": "s", "host": "x", "routes": routes}},
		}
	}
	summary := func(body map[string]any) []string {
		list, _ := body["flattened_errors"].([]any)
		var out []string
		for _, x := range list {
			m := x.(map[string]any)
			var errs []string
			for _, e := range m["errors"].([]any) {
				em := e.(map[string]any)
				field, _ := em["field"].(string)
				errs = append(errs, strings.TrimPrefix(field+": ", ": ")+em["message"].(string))
			}
			name, _ := m["entity_name"].(string)
			id, _ := m["entity_id"].(string)
			ent, _ := json.Marshal(m["entity"])
			if m["entity_type"] != "certificate" || id == "" {
				ent = nil
			}
			out = append(out, strings.Join(strings.Fields(m["entity_type"].(string)+" "+name+" "+id+" "+string(ent)), " ")+" ["+strings.Join(errs, "; ")+"]")
		}
		sort.Strings(out)
		return out
	}
	for _, c := range []struct {
		name string
		doc  map[string]any
		want []string
	}{
		{"certificate with id, two SNIs", doc(true, snis("a.example.com", "b.example.com"), badRoute), []string{
			"certificate " + certID + ` {"id":"` + certID + `"} [required field missing]`,
			"certificate " + certID + ` {"id":"` + certID + `"} [required field missing]`,
			"route r [priority: value should be between 0 and 70368744177663]",
		}},
		{"certificate without id", doc(false, snis("a.example.com", "b.example.com"), badRoute), []string{
			"route r [priority: value should be between 0 and 70368744177663]",
			"sni a.example.com [certificate: required field missing]",
			"sni b.example.com [certificate: required field missing]",
		}},
		{"bad SNI beside a good one", doc(true, snis("a.example.com", "*.*.bad"), goodRoute), []string{
			"certificate " + certID + ` {"id":"` + certID + `"} [required field missing]`,
			"certificate " + certID + ` {"id":"` + certID + `"} [required field missing]`,
			"sni *.*.bad [name: only one wildcard must be specified]",
		}},
		{"certificate without SNIs", doc(true, nil, badRoute), []string{
			"route r [priority: value should be between 0 and 70368744177663]",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := s.postConfig(c.doc)
			if code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %v", code, body)
			}
			if got := summary(body); strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("flattened_errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
	// A rejection found after the schema check (a duplicate route name)
	// adds no certificate entries.
	dup := doc(true, snis("a.example.com"), goodRoute, goodRoute)
	if code, body := s.postConfig(dup); code != http.StatusBadRequest || len(summary(body)) != 0 {
		t.Errorf("duplicate route name beside certificates: %d %v", code, body)
	}
}

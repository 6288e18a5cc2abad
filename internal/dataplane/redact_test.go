package dataplane

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// A configuration with every kind of secret Drawbridge puts in it. The
// secret values all contain "SECRET" so the test can look for any leak.
const configWithSecrets = `{"_format_version":"3.0",
 "consumers":[{"username":"alice","tags":["k8s-kind:KongConsumer","k8s-namespace:apps","k8s-name:alice"],
   "keyauth_credentials":[{"key":"SECRET-key"}],
   "basicauth_credentials":[{"username":"alice","password":"SECRET-password"}],
   "jwt_secrets":[{"key":"issuer-alice","secret":"SECRET-jwt","algorithm":"RS256","rsa_public_key":"SECRET-rsa"}],
   "hmacauth_credentials":[{"username":"alice-hmac","secret":"SECRET-hmac"}],
   "acls":[{"group":"gold"}]}],
 "keyauth_credentials":[{"consumer":"alice","key":"SECRET-top-level"}],
 "services":[{"name":"s","routes":[{"name":"r","plugins":[
   {"name":"rate-limiting","tags":["k8s-kind:KongPlugin","k8s-namespace:apps","k8s-name:limit"],
    "config":{"minute":5,"policy":"redis","redis":{"host":"redis","password":"SECRET-redis"}}},
   {"name":"rate-limiting","tags":["k8s-kind:KongPlugin","k8s-namespace:other","k8s-name:limit"],
    "config":{"minute":7,"redis":{"password":"visible-not-from-a-secret"}}}]}]}],
 "plugins":[{"name":"http-log","tags":["k8s-kind:KongPlugin","k8s-namespace:apps","k8s-name:log"],
   "config":{"http_endpoint":"https://SECRET-endpoint.example/","headers":{"x":"y"}}}]}`

func TestRedactSecrets(t *testing.T) {
	fields := []SecretField{
		{Kind: "KongPlugin", Namespace: "apps", Name: "limit", Path: "redis.password"},
		{Kind: "KongPlugin", Namespace: "apps", Name: "log", Path: "http_endpoint"},
		{Kind: "KongPlugin", Namespace: "apps", Name: "log", Path: "absent.field"},
	}
	out, err := Redact([]byte(configWithSecrets), fields)
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	if strings.Contains(got, "SECRET") {
		t.Fatalf("a secret is shown:\n%s", got)
	}
	for _, kept := range []string{`"issuer-alice"`, `"gold"`, `"alice-hmac"`, `"minute": 5`, `"visible-not-from-a-secret"`, `"RS256"`} {
		if !strings.Contains(got, kept) {
			t.Errorf("%s was hidden too:\n%s", kept, got)
		}
	}
	if n := strings.Count(got, Redacted); n != 8 {
		t.Errorf("%d values redacted, want 8:\n%s", n, got)
	}
}

func TestHandlerRedactsSecretFields(t *testing.T) {
	s := NewStore()
	gw := types.NamespacedName{Namespace: "apps", Name: "web"}
	s.Set(gw, 1, []byte(configWithSecrets), time.Unix(0, 0))
	s.SetSecretFields(gw, []SecretField{
		{Kind: "KongPlugin", Namespace: "apps", Name: "limit", Path: "redis.password"},
		{Kind: "KongPlugin", Namespace: "apps", Name: "log", Path: "http_endpoint"},
	})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/?gateway=apps/web", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || strings.Contains(string(body), "SECRET") {
		t.Fatalf("status %d, body %s", rec.Code, body)
	}
	s.Delete(gw)
	if len(s.secretFieldsOf(gw)) != 0 {
		t.Fatal("Delete kept the secret fields")
	}
}

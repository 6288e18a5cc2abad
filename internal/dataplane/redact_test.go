package dataplane

import (
	"context"
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

// A configuration's secret values: credential secrets and the plugin fields
// that came from Secrets; short values are not searched for.
func TestSecretValues(t *testing.T) {
	cfg := []byte(`{"_format_version":"3.0",
 "consumers":[{"username":"alice","keyauth_credentials":[{"key":"alice-api-key"}],"basicauth_credentials":[{"username":"alice","password":"pw"}]}],
 "plugins":[{"name":"response-ratelimiting","config":{"redis":{"host":"r","password":"redis-secret"}},
   "tags":["k8s-kind:KongPlugin","k8s-namespace:apps","k8s-name:limit"]}]}`)
	got := SecretValues(cfg, []SecretField{{Kind: "KongPlugin", Namespace: "apps", Name: "limit", Path: "redis.password"}})
	want := []string{"alice-api-key", "redis-secret"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("SecretValues = %q, want %q (the 2-byte password is too short to search for)", got, want)
	}
}

// Kong quotes a refused value in some messages; Push takes the
// configuration's secret values out of the rejection before it becomes an
// error text, a condition or an event.
func TestRejectionTextsAreRedacted(t *testing.T) {
	const secret = "redis-secret-value"
	body := `{"code":14,"name":"invalid declarative configuration",
 "message":"declarative config is invalid: {plugins={{config={redis={password=\"invalid value: ` + secret + `\"}}}}}",
 "fields":{"plugins":[{"config":{"redis":{"password":"invalid value: ` + secret + `"}}}]},
 "flattened_errors":[{"entity_type":"plugin","entity_name":"response-ratelimiting",
   "entity_tags":["k8s-kind:KongPlugin","k8s-group:gateway.drawbridge.dev","k8s-version:v1alpha1","k8s-namespace:apps","k8s-name:limit","k8s-uid:1"],
   "errors":[{"type":"field","field":"config.redis.password","message":"invalid value: ` + secret + `"}]}]}`
	p := newPKI(t)
	d := newDouble(t, p, reply{code: 400, body: body})
	pusher, _, _ := newTestPusher(t, p)
	res := pusher.Push(WithSecretValues(context.Background(), []string{secret}), []Replica{d.rep}, validConfig("a"))
	if res.Rejection == nil {
		t.Fatalf("no rejection: %v", res.Err())
	}
	texts := []string{res.Err().Error(), res.Rejection.Message, string(res.Rejection.Fields)}
	for _, o := range res.Rejection.Objects {
		texts = append(texts, o.Message())
	}
	if st, _ := pusher.State(d.rep.Name); st.LastError != nil {
		texts = append(texts, st.LastError.Error())
	}
	for _, text := range texts {
		if strings.Contains(text, secret) {
			t.Errorf("a secret value reached %q", text)
		}
	}
	if len(res.Rejection.Objects) != 1 || !strings.Contains(res.Rejection.Objects[0].Message(), Redacted) {
		t.Errorf("the plugin's message should say a value was redacted: %+v", res.Rejection.Objects)
	}
}

package dataplane

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

func TestStoreReportsChangesOnlyWhenTheConfigChanges(t *testing.T) {
	s := NewStore()
	gw := types.NamespacedName{Namespace: "apps", Name: "web"}
	now := time.Unix(0, 0)
	if _, changed := s.Set(gw, 1, []byte(`{"_format_version":"3.0"}`), now); !changed {
		t.Fatal("first Set must report a change")
	}
	if _, changed := s.Set(gw, 2, []byte(`{"_format_version":"3.0"}`), now); changed {
		t.Fatal("the same bytes must not report a change")
	}
	if c, _ := s.Get(gw); c.Generation != 2 {
		t.Fatalf("generation = %d, want 2", c.Generation)
	}
	if _, changed := s.Set(gw, 3, []byte(`{"_format_version":"3.0","upstreams":[]}`), now); !changed {
		t.Fatal("new bytes must report a change")
	}
	s.Delete(gw)
	if _, ok := s.Get(gw); ok {
		t.Fatal("Delete did not forget the Gateway")
	}
}

func TestHandlerRedactsPrivateKeys(t *testing.T) {
	s := NewStore()
	s.Set(types.NamespacedName{Namespace: "apps", Name: "web"}, 1,
		[]byte(`{"_format_version":"3.0","certificates":[{"cert":"CERT","key":"-----BEGIN EC PRIVATE KEY-----secret"}]}`), time.Unix(0, 0))

	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/?gateway=apps/web", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || strings.Contains(string(body), "secret") || !strings.Contains(string(body), "<redacted>") || !strings.Contains(string(body), "CERT") {
		t.Fatalf("status %d, body %s", rec.Code, body)
	}

	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if body, _ := io.ReadAll(rec.Body); !strings.Contains(string(body), `"gateway":"apps/web"`) {
		t.Fatalf("listing: %s", body)
	}

	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/?gateway=apps/absent", nil))
	if rec.Code != 404 {
		t.Fatalf("unknown gateway: status %d", rec.Code)
	}
}

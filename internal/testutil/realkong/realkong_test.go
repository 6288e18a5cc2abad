package realkong

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestStartServesAConfig: the harness's Kong takes a declarative config
// and proxies to a local backend.
func TestStartServesAConfig(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend saw %s", r.URL.Path)
	}))
	defer backend.Close()
	u, _ := url.Parse(backend.URL)
	k := Start(t, Options{})
	cfg := fmt.Sprintf(`{"_format_version":"3.0","services":[{"name":"s","host":%q,"port":%s,"protocol":"http",
"routes":[{"name":"r","expression":"http.path ^= \"/\"","protocols":["http"]}]}]}`, u.Hostname(), u.Port())
	if err := k.PostConfig([]byte(cfg)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + k.HTTP + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "backend saw /hello") {
		t.Fatalf("got %d %q\n%s", resp.StatusCode, body, k.ErrorLogTail())
	}
	if v := resp.Header.Get("Via"); !strings.Contains(v, "kong/3.9.3") {
		t.Fatalf("Via %q: not real Kong 3.9.3", v)
	}
}

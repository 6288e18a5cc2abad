package kongdiff

// A data plane under test: real Kong or the stand-in, reached only through
// its loopback listeners.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/test/kongstandin"
)

const adminTimeout = 30 * time.Second

// plane is one data plane and the listeners it bound.
type plane struct {
	name   string // "kong" or "standin"
	lay    *layout
	admin  string // base URL of the plain admin API
	client *http.Client
}

func newPlane(name string, lay *layout) *plane {
	return &plane{
		name:   name,
		lay:    lay,
		admin:  fmt.Sprintf("http://127.0.0.1:%d", lay.admin),
		client: &http.Client{Timeout: adminTimeout},
	}
}

// postConfig POSTs a declarative configuration the way go-kong does
// (check_hash and flatten_errors) and returns the status and body.
func (p *plane) postConfig(cfg []byte) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, p.admin+"/config?check_hash=1&flatten_errors=1", bytes.NewReader(cfg))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: POST /config: %w", p.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: read POST /config answer: %w", p.name, err)
	}
	return resp.StatusCode, body, nil
}

func envList(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// startStandin runs the stand-in in-process from the shared environment,
// as test/kongstandin/harness_test.go does, and returns it for its fault
// knobs.
func startStandin(t *testing.T, shared map[string]string) *kongstandin.Server {
	t.Helper()
	env := envList(shared)
	env = append(env, "KONG_PREFIX="+t.TempDir(), "KONG_PROXY_ERROR_LOG=off")
	srv, err := kongstandin.Run(env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv
}

package translatecli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const manifests = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: drawbridge
spec:
  controllerName: drawbridge.dev/gateway-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  gatewayClassName: drawbridge
  listeners:
  - name: http
    port: 80
    protocol: HTTP
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: web, port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ignored
`

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunYAML(t *testing.T) {
	code, out, stderr := run("-f", writeFile(t, manifests))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"gateway: default/gw", "_format_version: \"3.0\"", "reason: BackendNotFound", "status_code: 500"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr, "ignoring") || !strings.Contains(stderr, "Deployment ignored") {
		t.Errorf("stderr should mention the ignored Deployment: %s", stderr)
	}
}

func TestRunJSONAndGatewayFilter(t *testing.T) {
	code, out, stderr := run("-f", writeFile(t, manifests), "-o", "json", "--gateway", "default/gw")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var reports []map[string]any
	if err := json.Unmarshal([]byte(out), &reports); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if len(reports) != 1 || reports[0]["gateway"] != "default/gw" {
		t.Fatalf("unexpected reports: %v", reports)
	}
	code, _, stderr = run("-f", writeFile(t, manifests), "--gateway", "default/nope")
	if code != 1 || !strings.Contains(stderr, "default/nope") {
		t.Fatalf("unknown gateway: exit %d, %s", code, stderr)
	}
}

func TestRunErrorsNameFileObjectAndField(t *testing.T) {
	bad := strings.Replace(manifests, "  rules:\n", "  rulez:\n", 1)
	path := writeFile(t, bad)
	code, _, stderr := run("-f", path)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{path, "document 3", "HTTPRoute web", "rulez"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("error %q lacks %q", stderr, want)
		}
	}
	missing := strings.Replace(manifests, "  - name: http\n    port: 80\n", "  - name: http\n    port: 0\n", 1)
	code, _, stderr = run("-f", writeFile(t, missing))
	if code != 1 || !strings.Contains(stderr, "spec.listeners[0].port") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestRunUsage(t *testing.T) {
	if code, _, _ := run(); code != 2 {
		t.Errorf("no -f: exit %d, want 2", code)
	}
	if code, _, _ := run("-f", "x.yaml", "-o", "xml"); code != 2 {
		t.Errorf("bad -o: exit %d, want 2", code)
	}
	if code, _, _ := run("-f", "x.yaml", "--gateway", "noslash"); code != 2 {
		t.Errorf("bad --gateway: exit %d, want 2", code)
	}
	if code, _, stderr := run("-f", filepath.Join(t.TempDir(), "missing.yaml")); code != 1 || !strings.Contains(stderr, "missing.yaml") {
		t.Errorf("missing file: exit %d, %s", code, stderr)
	}
}

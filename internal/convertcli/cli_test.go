package convertcli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const ingress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
  annotations:
    nginx.ingress.kubernetes.io/server-snippet: "return 418;"
spec:
  ingressClassName: nginx
  rules:
  - host: shop.example
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service: {name: web, port: {number: 80}}
`

func TestRunStdinToStdout(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Run([]string{"-f", "-", "--gateway-namespace", "edge"}, strings.NewReader(ingress), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"kind: Gateway\n", "namespace: edge\n", "kind: HTTPRoute\n", "- shop.example\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errOut.String(), "Ingress shop/web: nginx.ingress.kubernetes.io/server-snippet:") {
		t.Errorf("report lacks the snippet: %s", errOut.String())
	}
}

func TestRunDirectoryToDirectoryWithReportFile(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(in, "a.yaml"), []byte(ingress), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := filepath.Join(t.TempDir(), "report.txt")
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"-f", in, "-o", out, "--report", rep}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout not empty with -o: %s", stdout.String())
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.yaml"))
	if len(files) != 2 || filepath.Base(files[0]) != "01-gateway.yaml" || filepath.Base(files[1]) != "02-httproute.yaml" {
		t.Errorf("files: %v", files)
	}
	r, err := os.ReadFile(rep)
	if err != nil || !strings.Contains(string(r), "server-snippet") {
		t.Errorf("report file: %q %v", r, err)
	}
}

func TestRunUnreadableInputFails(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Run([]string{"-f", "-"}, strings.NewReader("kind: [unclosed"), &out, &errOut); code != 1 {
		t.Errorf("exit %d for bad YAML, want 1 (%s)", code, errOut.String())
	}
	if code := Run([]string{"-f", filepath.Join(t.TempDir(), "missing.yaml")}, nil, &out, &errOut); code != 1 {
		t.Errorf("exit %d for a missing file, want 1", code)
	}
	if code := Run(nil, nil, &out, &errOut); code != 2 {
		t.Errorf("exit %d without -f, want 2", code)
	}
}

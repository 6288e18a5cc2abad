package node

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResolve(t *testing.T) {
	p := Programs{Kong: "/bin/kong", KongVersion: "3.9.3", EchoBasic: "/bin/echo", Drawbridge: "/bin/db", CoreDNS: "/bin/dns"}
	cases := map[string]string{
		"kong:3.9":                   "/bin/kong",
		"kong/kong:3.9":              "/bin/kong",
		"docker.io/library/kong:3.9": "/bin/kong",
		"kong:3.9.3":                 "/bin/kong",
		"kong:3.9-ubuntu":            "/bin/kong",
		"kong:3.9.3-ubuntu":          "/bin/kong",
		"kong@sha256:abcd":           "",
		"kong":                       "",
		"kong:latest":                "",
		"kong:3.9.1":                 "",
		"kong:3.8":                   "",
		"kong/kong:3.10":             "",
		"gcr.io/k8s-staging-gateway-api/echo-basic:v20240412-v1.0.0-394-g40c666fd": "/bin/echo",
		"registry.k8s.io/gateway-api/echo-basic:v1.6.3":                            "/bin/echo",
		"registry.k8s.io/gateway-api/conformance/echo-basic:v0.2.0":                "/bin/echo",
		"drawbridge:dev": "/bin/db",
		"registry.k8s.io/coredns/coredns:v1.12.2": "/bin/dns",
		"kong-gateway":        "",
		"nginx:1.27":          "",
		"localhost:5000/kong": "",
	}
	for image, want := range cases {
		got, err := p.Resolve(image)
		if want == "" {
			if err == nil {
				t.Errorf("Resolve(%q) = %q, want an error", image, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", image, got, err, want)
		}
	}
}

func TestKongImagesHaveTheirEntrypoint(t *testing.T) {
	p := Programs{Kong: "/lab/bin/kong-launcher", EchoBasic: "/lab/bin/echo-basic"}
	if got := p.ImageFiles("kong:3.9")["/docker-entrypoint.sh"]; got != p.Kong {
		t.Errorf("kong:3.9 /docker-entrypoint.sh = %q, want the Kong program", got)
	}
	if got := p.ImageFiles("registry.k8s.io/gateway-api/echo-basic:v1.5.1"); len(got) != 0 {
		t.Errorf("echo-basic has image files %v, want none", got)
	}
}

func TestATaggedOperatorBuildRunsWhenItExists(t *testing.T) {
	dir := t.TempDir()
	p := Programs{Drawbridge: filepath.Join(dir, "drawbridge")}
	if err := os.WriteFile(filepath.Join(dir, "drawbridge-8c22698"), []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for image, want := range map[string]string{
		"drawbridge:8c22698": filepath.Join(dir, "drawbridge-8c22698"),
		"drawbridge:dev":     filepath.Join(dir, "drawbridge"),
		"drawbridge":         filepath.Join(dir, "drawbridge"),
	} {
		if got, err := p.Resolve(image); err != nil || got != want {
			t.Errorf("%s runs %q (%v), want %q", image, got, err, want)
		}
	}
}

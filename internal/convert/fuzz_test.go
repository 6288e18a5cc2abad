package convert

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzConvert reads arbitrary bytes as manifests and converts what it
// could read: neither may panic, and output must render.
func FuzzConvert(f *testing.F) {
	ins, _ := filepath.Glob("testdata/*.in.yaml")
	for _, in := range ins {
		data, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: List, items: []}]\n"))
	f.Add([]byte("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: x, annotations: {konghq.com/plugins: ',,'}}\nspec: {rules: [{host: '*.', http: {paths: [{path: '/~', backend: {service: {name: s, port: {name: p}}}}]}}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &Input{}
		_ = in.ReadBytes("fuzz", data)
		out := Convert(in, DefaultOptions())
		if _, err := YAML(out.Objects()); err != nil {
			t.Fatalf("render: %v", err)
		}
	})
}

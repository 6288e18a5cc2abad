package convert

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/drawbridge-dev/drawbridge/internal/testutil/realkong"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
	"github.com/drawbridge-dev/drawbridge/internal/translatecli"
)

var update = flag.Bool("update", false, "rewrite the golden .out.yaml and .report.txt files")

// goldenCases are the testdata/<case>.in.yaml files.
func goldenCases(t *testing.T) []string {
	t.Helper()
	ins, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) == 0 {
		t.Fatal("no testdata/*.in.yaml")
	}
	sort.Strings(ins)
	return ins
}

func convertFile(t *testing.T, in string) (*Input, *Output, []byte, []byte) {
	t.Helper()
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	input := &Input{}
	if err := input.ReadBytes(filepath.Base(in), data); err != nil {
		t.Fatalf("read %s: %v", in, err)
	}
	out := Convert(input, DefaultOptions())
	y, err := YAML(out.Objects())
	if err != nil {
		t.Fatal(err)
	}
	return input, out, y, ReportText(out.Report)
}

func TestGolden(t *testing.T) {
	for _, in := range goldenCases(t) {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			_, _, y, rep := convertFile(t, in)
			outFile := strings.TrimSuffix(in, ".in.yaml") + ".out.yaml"
			repFile := strings.TrimSuffix(in, ".in.yaml") + ".report.txt"
			if *update {
				if err := os.WriteFile(outFile, y, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(repFile, rep, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			for _, g := range []struct {
				file string
				got  []byte
			}{{outFile, y}, {repFile, rep}} {
				want, err := os.ReadFile(g.file)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if !bytes.Equal(want, g.got) {
					t.Errorf("%s differs (run go test ./internal/convert -update and review the diff):\n%s", g.file, firstDiff(string(want), string(g.got)))
				}
			}
		})
	}
}

// TestDeterministic converts every case twice, the second time with every
// list of the input in reverse order: the output may depend neither on map
// order nor on the order of the documents.
func TestDeterministic(t *testing.T) {
	for _, in := range goldenCases(t) {
		input, _, y1, r1 := convertFile(t, in)
		reverse(input.Ingresses)
		reverse(input.IngressClasses)
		reverse(input.Services)
		reverse(input.Secrets)
		reverse(input.KongPlugins)
		reverse(input.KongClusterPlugins)
		reverse(input.KongConsumers)
		reverse(input.KongIngresses)
		reverse(input.TCPIngresses)
		reverse(input.UDPIngresses)
		out := Convert(input, DefaultOptions())
		y2, err := YAML(out.Objects())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(y1, y2) {
			t.Errorf("%s: output depends on input order:\n%s", in, firstDiff(string(y1), string(y2)))
		}
		if r2 := ReportText(out.Report); !bytes.Equal(r1, r2) {
			t.Errorf("%s: report depends on input order:\n%s", in, firstDiff(string(r1), string(r2)))
		}
	}
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// translateGolden runs a golden case's output through Drawbridge's own
// translation (drawbridge translate), with the input's Services and
// Secrets, Namespaces labelled as the API server labels them, and the
// drawbridge GatewayClass.
func translateGolden(t *testing.T, in string) (*Output, []translate.Report) {
	t.Helper()
	name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
	input, out, y, _ := convertFile(t, in)
	var buf bytes.Buffer
	buf.WriteString("apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: drawbridge}\nspec: {controllerName: drawbridge.dev/gateway-controller}\n")
	nss := map[string]bool{"default": true}
	for _, o := range out.Objects() {
		if ns := objectNamespace(o); ns != "" {
			nss[ns] = true
		}
	}
	var extra []any
	for i := range input.Services {
		s := input.Services[i].DeepCopy()
		s.APIVersion, s.Kind = "v1", "Service"
		nss[s.Namespace] = true
		extra = append(extra, s)
	}
	for i := range input.Secrets {
		s := input.Secrets[i].DeepCopy()
		s.APIVersion, s.Kind = "v1", "Secret"
		nss[s.Namespace] = true
		extra = append(extra, s)
	}
	for _, ns := range slices.Sorted(maps.Keys(nss)) {
		fmt.Fprintf(&buf, "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: %s, labels: {kubernetes.io/metadata.name: %s}}\n", ns, ns)
	}
	ey, err := YAML(extra)
	if err != nil {
		t.Fatal(err)
	}
	if len(ey) > 0 {
		buf.WriteString("---\n")
		buf.Write(ey)
	}
	if len(y) > 0 {
		buf.WriteString("---\n")
		buf.Write(y)
	}
	objs := &translatecli.Objects{}
	if err := objs.DecodeBytes(name, buf.Bytes()); err != nil {
		t.Fatalf("drawbridge translate cannot read the output: %v", err)
	}
	reports, err := translatecli.Translate(objs, "", io.Discard)
	if err != nil {
		t.Fatalf("translate: %v", err)
	}
	if len(out.Gateways) != len(reports) {
		t.Fatalf("%d Gateways written, %d translated", len(out.Gateways), len(reports))
	}
	return out, reports
}

func objectNamespace(o any) string {
	raw, _ := json.Marshal(o)
	var m struct {
		Metadata struct {
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(raw, &m)
	return m.Metadata.Namespace
}

// TestGoldenOutputsTranslate requires that Drawbridge refuses nothing of a
// golden output: every listener accepted, every route attached and
// accepted, every consumer and attached KongPlugin accepted, and every
// Kong configuration within Kong's schema rules (translatecli checks).
func TestGoldenOutputsTranslate(t *testing.T) {
	for _, in := range goldenCases(t) {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			out, reports := translateGolden(t, in)
			routes := 0
			for _, r := range reports {
				for _, l := range r.Listeners {
					for _, c := range l.Conditions {
						if c.Type == "Accepted" && c.Status != "True" {
							t.Errorf("Gateway %s listener %s not accepted: %s", r.Gateway, l.Name, c.Message)
						}
					}
				}
				for _, rr := range r.Routes {
					routes++
					for _, c := range rr.Conditions {
						if c.Type == "Accepted" && c.Status != "True" {
							t.Errorf("%s %s/%s refused by Gateway %s: %s %s", rr.Kind, rr.Namespace, rr.Name, r.Gateway, c.Reason, c.Message)
						}
					}
				}
				for _, kc := range r.KongConsumers {
					for _, c := range kc.Conditions {
						if c.Type == "Accepted" && c.Status != "True" {
							t.Errorf("KongConsumer %s/%s refused: %s", kc.Namespace, kc.Name, c.Message)
						}
					}
				}
				for _, kp := range r.KongPlugins {
					for _, c := range kp.Conditions {
						if c.Type == "Accepted" && c.Status != "True" && !offAllowList(out, kp.Namespace, kp.Name) {
							t.Errorf("KongPlugin %s/%s refused: %s", kp.Namespace, kp.Name, c.Message)
						}
					}
				}
			}
			want := len(out.HTTPRoutes) + len(out.GRPCRoutes) + len(out.TCPRoutes) + len(out.UDPRoutes) + len(out.TLSRoutes)
			if routes != want {
				t.Errorf("%d routes written, %d attached to a Gateway", want, routes)
			}
		})
	}
}

// TestGoldenOutputsOnRealKong posts the Kong configuration of every
// golden output's every Gateway to real Kong 3.9.3 (KONG_DIR; skipped
// without it): Kong must accept each whole, plugin configurations and
// consumer credentials included.
func TestGoldenOutputsOnRealKong(t *testing.T) {
	k := realkong.Start(t, realkong.Options{Stream: true})
	posted := 0
	defer func() { t.Logf("%d configurations posted", posted) }()
	for _, in := range goldenCases(t) {
		_, reports := translateGolden(t, in)
		for _, r := range reports {
			cfg, err := json.Marshal(r.Config)
			if err != nil {
				t.Fatal(err)
			}
			if err := k.PostConfig(cfg); err != nil {
				t.Errorf("%s, Gateway %s: real Kong refused the configuration: %v", filepath.Base(in), r.Gateway, err)
			}
			posted++
		}
	}
}

// offAllowList reports whether a written KongPlugin names a plugin off
// the default allow-list (written unattached, and reported).
func offAllowList(out *Output, ns, name string) bool {
	for _, kp := range out.KongPlugins {
		if kp.Namespace == ns && kp.Name == name {
			_, off := offDefaultAllowList[kp.Spec.Plugin]
			return off
		}
	}
	return false
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, w, g)
		}
	}
	return ""
}

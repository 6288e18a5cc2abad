package provision

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/kong/luaplugins"
)

var update = flag.Bool("update", false, "rewrite testdata/*.out.yaml from the current output")

// goldenInput is the shape of testdata/<case>.in.yaml.
type goldenInput struct {
	Gateway           gwv1.Gateway                       `json:"gateway"`
	ClassConfig       *v1alpha1.GatewayConfigurationSpec `json:"classConfig,omitempty"`
	GatewayConfig     *v1alpha1.GatewayConfigurationSpec `json:"gatewayConfig,omitempty"`
	OperatorNamespace string                             `json:"operatorNamespace,omitempty"`
	// ProxyEnv stands for the proxy variables in the operator's environment.
	ProxyEnv []corev1.EnvVar `json:"proxyEnv,omitempty"`
	// CustomPlugins stand for the custom plugins' ConfigMaps the controller
	// found.
	CustomPlugins []CustomPluginSource `json:"customPlugins,omitempty"`
}

// TestRenderGolden renders every testdata/<case>.in.yaml and compares the
// objects, as YAML documents, with <case>.out.yaml. A rendering error is
// recorded as "error: <message>" so invalid configurations are pinned too.
func TestRenderGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs found: %v", err)
	}
	for _, inPath := range inputs {
		name := strings.TrimSuffix(filepath.Base(inPath), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			got := renderCase(t, inPath)
			outPath := strings.TrimSuffix(inPath, ".in.yaml") + ".out.yaml"
			if *update {
				if err := os.WriteFile(outPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(outPath)
			if err != nil {
				t.Fatalf("read %s (run go test ./internal/provision -update to create it): %v", outPath, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the rendering; run with -update and review the diff.\n--- got ---\n%s", outPath, got)
			}
		})
	}
}

func renderCase(t *testing.T, inPath string) []byte {
	t.Helper()
	raw, err := os.ReadFile(inPath)
	if err != nil {
		t.Fatal(err)
	}
	var in goldenInput
	if err := yaml.UnmarshalStrict(raw, &in); err != nil {
		t.Fatalf("parse %s: %v", inPath, err)
	}
	if in.OperatorNamespace == "" {
		in.OperatorNamespace = "drawbridge-system"
	}
	if in.Gateway.UID == "" {
		in.Gateway.UID = "00000000-0000-0000-0000-000000000001"
	}
	var listeners []gwv1.Listener
	for i, r := range gatewayapi.ValidateListeners(gatewayapi.ListenerInput{Gateway: &in.Gateway}) {
		if r.Serves() {
			listeners = append(listeners, in.Gateway.Spec.Listeners[i])
		}
	}
	objs, err := Render(Input{
		Gateway:           &in.Gateway,
		Config:            Merge(in.ClassConfig, in.GatewayConfig),
		Listeners:         listeners,
		OperatorNamespace: in.OperatorNamespace,
		OperatorPodLabels: map[string]string{"app.kubernetes.io/name": "drawbridge"},
		ProxyEnv:          in.ProxyEnv,
		CustomPlugins:     in.CustomPlugins,
	})
	if err != nil {
		return []byte("error: " + err.Error() + "\n")
	}
	stubBuiltinPlugins(objs)
	var out bytes.Buffer
	for i, obj := range objs.List() {
		b, err := yaml.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(b)
	}
	return out.Bytes()
}

// stubBuiltinPlugins replaces the files of Drawbridge's own plugins (the
// ConfigMap's data and the volume's items) and their hash with fixed text
// in a rendering, so the goldens pin where the plugins go without changing
// whenever a plugin gains a file or a line; TestBuiltinPluginsShipEveryFile
// checks the real content.
func stubBuiltinPlugins(objs Objects) {
	const stub = "(every file of internal/kong/luaplugins)"
	for _, cm := range objs.PluginConfigMaps {
		if cm.Labels[LabelCustomPlugin] == builtinPluginsLabel {
			cm.Data = map[string]string{stub: stub}
		}
	}
	if objs.Deployment == nil {
		return
	}
	tpl := &objs.Deployment.Spec.Template
	if _, ok := tpl.Annotations[AnnotationBuiltinPlugins]; ok {
		tpl.Annotations[AnnotationBuiltinPlugins] = "(luaplugins.Hash())"
	}
	names := strings.Join(luaplugins.Names(), ",")
	for i := range tpl.Spec.Containers {
		for j, e := range tpl.Spec.Containers[i].Env {
			if e.Name == "KONG_PLUGINS" && names != "" {
				tpl.Spec.Containers[i].Env[j].Value = strings.Replace(e.Value, names, "(luaplugins.Names())", 1)
			}
		}
	}
	for i := range tpl.Spec.Volumes {
		if cm := tpl.Spec.Volumes[i].ConfigMap; cm != nil && tpl.Spec.Volumes[i].Name == "drawbridge-plugins" {
			cm.Items = []corev1.KeyToPath{{Key: stub, Path: "kong/plugins/<plugin>/<file>"}}
		}
	}
}

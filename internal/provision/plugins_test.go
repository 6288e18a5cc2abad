package provision

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
	"github.com/drawbridge-dev/drawbridge/internal/kong/luaplugins"
)

func TestMergePluginsAllowList(t *testing.T) {
	class := func(allowed ...string) *v1alpha1.GatewayConfigurationSpec {
		return &v1alpha1.GatewayConfigurationSpec{Plugins: &v1alpha1.PluginsConfig{
			Allowed: allowed,
			Gateway: []v1alpha1.GatewayPlugin{{Plugin: "prometheus"}},
			Custom:  []v1alpha1.CustomPlugin{{Name: "my-header", ConfigMapName: "cm"}},
		}}
	}
	gateway := func(allowed ...string) *v1alpha1.GatewayConfigurationSpec {
		return &v1alpha1.GatewayConfigurationSpec{Plugins: &v1alpha1.PluginsConfig{Allowed: allowed}}
	}
	cases := []struct {
		name          string
		class, gw     *v1alpha1.GatewayConfigurationSpec
		want          []string
		wantIsDefault bool
	}{
		{name: "nothing set: default list", wantIsDefault: true},
		{name: "class without allowed: default", class: class(), wantIsDefault: true},
		{name: "class list", class: class("key-auth", "acl"), want: []string{"key-auth", "acl"}},
		{name: "gateway narrows class", class: class("key-auth", "acl"), gw: gateway("acl", "pre-function"), want: []string{"acl"}},
		{name: "gateway narrows the default, cannot add unsafe ones", class: class(), gw: gateway("pre-function", "cors", "my-header"), want: []string{"cors", "my-header"}},
		{name: "gateway allows nothing in common: empty, not default", class: class("acl"), gw: gateway("cors"), want: []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Merge(tc.class, tc.gw).Plugins
			if tc.wantIsDefault {
				if got.Allowed != nil {
					t.Fatalf("allowed = %v, want nil (the default list)", got.Allowed)
				}
				return
			}
			if got.Allowed == nil || !reflect.DeepEqual(got.Allowed, tc.want) {
				t.Fatalf("allowed = %#v, want %#v", got.Allowed, tc.want)
			}
		})
	}
}

func TestMergePluginsGatewayLayerCannotAdd(t *testing.T) {
	class := &v1alpha1.GatewayConfigurationSpec{Plugins: &v1alpha1.PluginsConfig{Gateway: []v1alpha1.GatewayPlugin{{Plugin: "correlation-id"}}}}
	gw := &v1alpha1.GatewayConfigurationSpec{Plugins: &v1alpha1.PluginsConfig{
		Gateway: []v1alpha1.GatewayPlugin{{Plugin: "prometheus"}},
		Custom:  []v1alpha1.CustomPlugin{{Name: "evil", ConfigMapName: "evil"}},
	}}
	got := Merge(class, gw).Plugins
	if len(got.Gateway) != 1 || got.Gateway[0].Plugin != "correlation-id" || len(got.Custom) != 0 {
		t.Fatalf("the Gateway layer added plugins: %+v", got)
	}
	if len(got.Ignored) != 2 {
		t.Fatalf("want two messages about what was ignored, got %q", got.Ignored)
	}
}

func TestDefaultAllowedPlugins(t *testing.T) {
	got := DefaultAllowedPlugins([]string{"my-header"})
	for _, unsafe := range []string{"pre-function", "post-function", "file-log"} {
		if slices.Contains(got, unsafe) {
			t.Errorf("default allow-list holds %s", unsafe)
		}
	}
	if len(got) != len(kong.BundledPlugins())-3+1 || got[len(got)-1] != "my-header" {
		t.Fatalf("default list = %v", got)
	}
}

// TestBuiltinPluginsShipEveryFile: every data plane gets every file of
// Drawbridge's own plugins at kong/plugins/<name>/<file> under the builtin
// root, the names in KONG_PLUGINS, the root on Lua's path, and the
// plugins' hash on the pod template.
func TestBuiltinPluginsShipEveryFile(t *testing.T) {
	gw := &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps", UID: "u1"}}
	objs, err := Render(Input{Gateway: gw, Config: Merge(nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	var cm *corev1.ConfigMap
	for _, c := range objs.PluginConfigMaps {
		if c.Name == BuiltinPluginsConfigMapName(NamesFor(gw)) {
			cm = c
		}
	}
	if cm == nil {
		t.Fatalf("no ConfigMap %s among %d plugin ConfigMaps", BuiltinPluginsConfigMapName(NamesFor(gw)), len(objs.PluginConfigMaps))
	}
	files := luaplugins.Files()
	if len(cm.Data) != len(files) {
		t.Fatalf("ConfigMap has %d files, luaplugins %d", len(cm.Data), len(files))
	}
	tpl := objs.Deployment.Spec.Template
	var items []corev1.KeyToPath
	for _, v := range tpl.Spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == cm.Name {
			items = v.ConfigMap.Items
		}
	}
	for i, f := range files {
		if cm.Data[luaplugins.ConfigMapKey(f)] != string(f.Data) {
			t.Errorf("%s/%s: ConfigMap content differs from the embedded file", f.Plugin, f.Name)
		}
		if i >= len(items) || items[i].Key != luaplugins.ConfigMapKey(f) || items[i].Path != "kong/plugins/"+f.Plugin+"/"+f.Name {
			t.Errorf("%s/%s: no volume item maps it to kong/plugins/%s/%s", f.Plugin, f.Name, f.Plugin, f.Name)
		}
	}
	env := map[string]string{}
	for _, e := range tpl.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	wantPlugins := strings.Join(append([]string{"bundled"}, luaplugins.Names()...), ",")
	if env["KONG_PLUGINS"] != wantPlugins {
		t.Errorf("KONG_PLUGINS = %q, want %q", env["KONG_PLUGINS"], wantPlugins)
	}
	if !strings.HasPrefix(env["KONG_LUA_PACKAGE_PATH"], BuiltinPluginsDir+"/?.lua;") || !strings.HasSuffix(env["KONG_LUA_PACKAGE_PATH"], ";;") {
		t.Errorf("KONG_LUA_PACKAGE_PATH = %q: want the builtin root first and Kong's path (;;) last", env["KONG_LUA_PACKAGE_PATH"])
	}
	if tpl.Annotations[AnnotationBuiltinPlugins] != luaplugins.Hash() {
		t.Errorf("pod template annotation %s = %q, want %q", AnnotationBuiltinPlugins, tpl.Annotations[AnnotationBuiltinPlugins], luaplugins.Hash())
	}
}

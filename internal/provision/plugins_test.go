package provision

import (
	"reflect"
	"slices"
	"testing"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
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

package gatewayapi

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"sigs.k8s.io/gateway-api/pkg/consts"
	"sigs.k8s.io/gateway-api/pkg/features"
)

// moduleCRDs reads the Gateway API CRDs of one channel ("standard" or
// "experimental") from the sigs.k8s.io/gateway-api module this package is
// built with, by kind. GATEWAY_API_CRDS, when set, names the module's
// config/crd/experimental directory (as for the envtest suites).
func moduleCRDs(t *testing.T, channel string) map[string]*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	var dir string
	if d := os.Getenv("GATEWAY_API_CRDS"); d != "" {
		dir = filepath.Join(filepath.Dir(d), channel)
	} else {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
		if err != nil {
			t.Fatalf("locate the sigs.k8s.io/gateway-api module: %v", err)
		}
		dir = filepath.Join(strings.TrimSpace(string(out)), "config", "crd", channel)
	}
	files, err := filepath.Glob(filepath.Join(dir, "gateway.networking.k8s.io_*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Gateway API CRDs in %s (%v)", dir, err)
	}
	crds := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(data, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if crd.Kind != "CustomResourceDefinition" { // the safe-upgrades admission policy
			continue
		}
		if got := crd.Annotations[consts.ChannelAnnotation]; got != channel {
			t.Fatalf("%s: %s is %q, want %q", f, consts.ChannelAnnotation, got, channel)
		}
		crds[crd.Spec.Names.Kind] = &crd
	}
	return crds
}

func v1Schema(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.JSONSchemaProps {
	t.Helper()
	for _, v := range crd.Spec.Versions {
		if v.Name == "v1" && v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
			return v.Schema.OpenAPIV3Schema
		}
	}
	t.Fatalf("%s has no v1 schema", crd.Name)
	return nil
}

// servedBy is what a cluster with exactly these CRDs serves, found the way
// the operator finds it at start (MissingFields on each kind's CRD).
func servedBy(t *testing.T, crds map[string]*apiextensionsv1.CustomResourceDefinition) Served {
	t.Helper()
	missing := map[string]bool{}
	for _, kind := range FieldKinds() {
		crd, ok := crds[kind]
		if !ok {
			continue
		}
		fields, err := MissingFields(kind, crd)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fields {
			missing[kind+" "+f] = true
		}
	}
	return Served{
		Kind:  func(kind string) bool { _, ok := crds[kind]; return ok },
		Field: func(kind, path string) bool { return !missing[kind+" "+path] },
	}
}

func TestEveryClaimedFeatureListsTheFieldsItNeeds(t *testing.T) {
	claimed := map[features.FeatureName]bool{}
	for _, f := range claimedFeatures {
		claimed[f] = true
		if len(featureFields[f]) == 0 {
			t.Errorf("%s: list in featureFields the fields its conformance tests write", f)
		}
	}
	for f := range featureFields {
		if !claimed[f] {
			t.Errorf("featureFields lists %s, which is not claimed", f)
		}
	}
	for f := range experimentalOnlyFeatures {
		if !claimed[f] {
			t.Errorf("experimentalOnlyFeatures lists %s, which is not claimed", f)
		}
	}
}

// TestExperimentalOnlyFeaturesFollowTheModulesCRDs derives from the
// standard and experimental CRDs of the sigs.k8s.io/gateway-api module
// which claimed features need a field only the experimental channel has,
// and holds experimentalOnlyFeatures to that answer: bumping the module or
// claiming a feature cannot silently make the table wrong.
func TestExperimentalOnlyFeaturesFollowTheModulesCRDs(t *testing.T) {
	standard, experimental := moduleCRDs(t, "standard"), moduleCRDs(t, "experimental")
	has := func(crds map[string]*apiextensionsv1.CustomResourceDefinition, r FieldRef) bool {
		crd, ok := crds[r.Kind]
		if !ok {
			return false
		}
		missing, err := MissingFields(r.Kind, crd)
		if err != nil {
			t.Fatal(err)
		}
		return !slices.Contains(missing, r.Path)
	}

	// The comparison must be able to tell the channels apart: fields that
	// v1.7.0 has only in the experimental channel are found missing from
	// the standard CRDs.
	for _, r := range []FieldRef{{"Gateway", "spec.listeners[].filters"}, {"HTTPRoute", "spec.rules[].sessionPersistence"},
		{"HTTPRoute", "spec.rules[].filters[].type=ExternalAuth"}} {
		if !SchemaHas(v1Schema(t, experimental[r.Kind]), r.Path) || SchemaHas(v1Schema(t, standard[r.Kind]), r.Path) {
			t.Errorf("%s: want it in the experimental CRD only", r)
		}
	}

	for _, f := range claimedFeatures {
		var standardLacks []FieldRef
		for _, r := range featureFields[f] {
			if !has(experimental, r) {
				t.Errorf("%s: %s is not in the experimental CRD either (a typo, or the field is gone)", f, r)
				continue
			}
			if !has(standard, r) {
				standardLacks = append(standardLacks, r)
			}
		}
		if listed := experimentalOnlyFeatures[f]; !slices.Equal(listed, standardLacks) {
			t.Errorf("%s: the standard CRDs lack %v; experimentalOnlyFeatures lists %v", f, standardLacks, listed)
		}
	}
}

func TestSupportedFeaturesOnTheModulesCRDs(t *testing.T) {
	all := SupportedFeatures(AllServed())
	if got := SupportedFeatures(servedBy(t, moduleCRDs(t, "experimental"))); !slices.Equal(got, all) {
		t.Errorf("experimental channel: %v, want every claimed feature %v", got, all)
	}
	var want []string
	for _, f := range all {
		if _, ok := experimentalOnlyFeatures[features.FeatureName(f.Name)]; !ok {
			want = append(want, string(f.Name))
		}
	}
	var got []string
	for _, f := range SupportedFeatures(servedBy(t, moduleCRDs(t, "standard"))) {
		got = append(got, string(f.Name))
	}
	if !slices.Equal(got, want) {
		t.Errorf("standard channel: %v, want %v", got, want)
	}
}

func TestSupportedFeaturesDropTheFeaturesOfMissingFields(t *testing.T) {
	// CRDs from an older release without parentRefs[].port on HTTPRoute.
	s := Served{
		Kind:  func(string) bool { return true },
		Field: func(kind, path string) bool { return kind != "HTTPRoute" || path != "spec.parentRefs[].port" },
	}
	dropped := DroppedFeatures(s)
	want := map[features.FeatureName][]string{
		features.SupportHTTPRouteDestinationPortMatching: {"HTTPRoute spec.parentRefs[].port"},
		features.SupportHTTPRouteParentRefPort:           {"HTTPRoute spec.parentRefs[].port"},
	}
	if len(dropped) != len(want) {
		t.Fatalf("dropped %v, want %v", dropped, want)
	}
	for f, w := range want {
		if !slices.Equal(dropped[f], w) {
			t.Errorf("%s: dropped for %v, want %v", f, dropped[f], w)
		}
	}
	if got, all := len(SupportedFeatures(s)), len(SupportedFeatures(AllServed())); got != all-2 {
		t.Errorf("%d features published, want %d", got, all-2)
	}

	// A feature whose field lives in another kind goes with that kind.
	noTLSRoute := Served{Kind: func(k string) bool { return k != "TLSRoute" }, Field: AllServed().Field}
	if d := DroppedFeatures(noTLSRoute); !slices.Equal(d[features.SupportTLSRoute], []string{"TLSRoute"}) || d[features.SupportTLSRouteModeMixed] == nil {
		t.Errorf("without TLSRoute: dropped %v", d)
	}
}

func TestSchemaHas(t *testing.T) {
	var schema apiextensionsv1.JSONSchemaProps
	if err := yaml.Unmarshal([]byte(`
type: object
properties:
  spec:
    type: object
    properties:
      rules:
        type: array
        items:
          type: object
          properties:
            filters:
              type: array
              items:
                type: object
                properties:
                  type: {type: string, enum: [RequestRedirect, CORS]}
                  requestRedirect:
                    type: object
                    properties:
                      statusCode: {type: integer, enum: [301, 302]}
      matrix:
        type: array
        items:
          type: array
          items: {type: object, properties: {x: {type: string}}}
      extra:
        type: object
        x-kubernetes-preserve-unknown-fields: true
        properties:
          known: {type: string}
`), &schema); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{
		"spec.rules[].filters[].type":                           true,
		"spec.rules[].filters[].type=CORS":                      true,
		"spec.rules[].filters[].type=ExternalAuth":              false,
		"spec.rules[].filters[].requestRedirect.statusCode=302": true,
		"spec.rules[].filters[].requestRedirect.statusCode=303": false,
		"spec.rules[].sessionPersistence":                       false,
		"spec.rules[].filters[].cors.allowOrigins":              false,
		"spec.matrix[][].x":                                     true,
		"spec.matrix[][].y":                                     false,
		"spec.extra.known":                                      true,
		"spec.extra.anything.below":                             true,
		"status":                                                false,
	} {
		if got := SchemaHas(&schema, path); got != want {
			t.Errorf("SchemaHas(%s) = %v, want %v", path, got, want)
		}
	}
	if !SchemaHas(nil, "spec.anything") {
		t.Error("no schema prunes nothing")
	}
}

func TestMissingFieldsReadsVersionV1(t *testing.T) {
	crd := &apiextensionsv1.CustomResourceDefinition{Spec: apiextensionsv1.CustomResourceDefinitionSpec{
		Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1alpha2", Served: true}},
	}}
	crd.Name = "udproutes.gateway.networking.k8s.io"
	if _, err := MissingFields("UDPRoute", crd); err == nil {
		t.Error("a CRD without v1: want an error")
	}
	crd.Spec.Versions = append(crd.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{Name: "v1", Served: true,
		Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
			Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {Type: "object", XPreserveUnknownFields: ptr.To(false)}},
		}}})
	missing, err := MissingFields("UDPRoute", crd)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"spec.parentRefs[].name", "spec.rules[].backendRefs[].port"}; !slices.Equal(missing, want) {
		t.Errorf("missing %v, want %v", missing, want)
	}
}

package bundle

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/operator-framework/api/pkg/encoding"
	"github.com/operator-framework/api/pkg/manifests"
	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/api/pkg/validation"
	"github.com/operator-framework/api/pkg/validation/errors"
	interfaces "github.com/operator-framework/api/pkg/validation/interfaces"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite bundle/ with the version and image it already names")

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// committedOptions reads back the options that produced the committed
// bundle, so the freshness check works for whatever `make bundle
// VERSION=... IMG=...` was last run with.
func committedOptions(t *testing.T, root string) Options {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, manifestsDir, PackageName+".clusterserviceversion.yaml"))
	if err != nil {
		t.Fatalf("read the committed CSV (run `make bundle`): %v", err)
	}
	var csv v1alpha1.ClusterServiceVersion
	if err := yaml.Unmarshal(raw, &csv); err != nil {
		t.Fatal(err)
	}
	o := Options{Root: root, Version: csv.Spec.Version.String(), Image: csv.Annotations["containerImage"], Replaces: csv.Spec.Replaces}
	for _, ri := range csv.Spec.RelatedImages {
		if ri.Name == "kong" {
			o.KongImage = ri.Image
		}
	}
	ann, err := os.ReadFile(filepath.Join(root, metadataDir, "annotations.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var a struct{ Annotations map[string]string }
	if err := yaml.Unmarshal(ann, &a); err != nil {
		t.Fatal(err)
	}
	// `make bundle BUNDLE_MONITORING=false` leaves the PrometheusRule out.
	if _, err := os.Stat(filepath.Join(root, manifestsDir, "drawbridge_monitoring.coreos.com_v1_prometheusrule.yaml")); os.IsNotExist(err) {
		o.WithoutMonitoring = true
	}
	def := a.Annotations["operators.operatorframework.io.bundle.channel.default.v1"]
	o.Channels = []string{def}
	for _, c := range strings.Split(a.Annotations["operators.operatorframework.io.bundle.channels.v1"], ",") {
		if c != def {
			o.Channels = append(o.Channels, c)
		}
	}
	return o
}

// TestCommittedBundleIsFresh regenerates the bundle and compares it, file by
// file, with bundle/ and bundle.Dockerfile as committed.
func TestCommittedBundleIsFresh(t *testing.T) {
	root := repoRoot(t)
	o := committedOptions(t, root)
	want, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := Write(root, want); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Read(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range want.Paths() {
		if _, ok := got[p]; !ok {
			t.Errorf("%s is missing from the committed bundle", p)
		} else if !bytes.Equal(got[p], want[p]) {
			t.Errorf("%s is stale", p)
		}
	}
	for _, p := range got.Paths() {
		if _, ok := want[p]; !ok {
			t.Errorf("%s is committed but no longer generated", p)
		}
	}
	if t.Failed() {
		t.Logf("regenerate with: make bundle VERSION=%s IMG=%s", o.Version, o.Image)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	o := Options{Root: repoRoot(t), Version: "1.2.3", Image: "registry.example/drawbridge:v1.2.3"}
	a, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("%d files, then %d", len(a), len(b))
	}
	for p := range a {
		if !bytes.Equal(a[p], b[p]) {
			t.Errorf("%s differs between two generations", p)
		}
	}
}

// acceptedWarning tells whether a validator warning is one we have looked at
// and keep; the README's bundle section explains each. Any other warning
// fails the test.
func acceptedWarning(detail string) bool {
	// The removed-APIs check cannot see versions in RBAC rules, so a rule for
	// events.k8s.io "events" or discovery.k8s.io "endpointslices" reads to it
	// like the v1beta1 APIs removed in Kubernetes 1.25. Drawbridge uses the
	// v1 APIs of both (k8s.io/api/events/v1, k8s.io/api/discovery/v1).
	if strings.Contains(detail, "deprecated and removed in v1.25") {
		named := regexp.MustCompile(`(\w+): \(\[`).FindAllStringSubmatch(detail, -1)
		for _, m := range named {
			if m[1] != "events" && m[1] != "endpointslices" {
				return false
			}
		}
		return len(named) > 0
	}
	return false
}

// TestBundlePassesValidators runs the operator-framework validators that
// OperatorHub and `operator-sdk bundle validate` use on the generated bundle.
func TestBundlePassesValidators(t *testing.T) {
	files, err := Generate(Options{Root: repoRoot(t), Version: "0.1.0", Image: "ghcr.io/drawbridge-dev/drawbridge:v0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	b := loadBundle(t, files)
	// GatewayConfiguration, KongPlugin and KongConsumer.
	if b.CSV == nil || len(b.V1CRDs) != 3 {
		t.Fatalf("bundle loaded without its CSV or CRDs: csv=%v crds=%d", b.CSV != nil, len(b.V1CRDs))
	}
	objs := []any{b, b.CSV, map[string]string{"k8s-version": "1.36"}}
	for _, crd := range b.V1CRDs {
		objs = append(objs, crd)
	}
	suites := map[string]interfaces.Validator{
		"bundle":                validation.BundleValidator,
		"csv":                   validation.ClusterServiceVersionValidator,
		"crd":                   validation.CustomResourceDefinitionValidator,
		"operatorhub":           validation.OperatorHubV2Validator,
		"standard-capabilities": validation.StandardCapabilitiesValidator,
		"standard-categories":   validation.StandardCategoriesValidator,
		"good-practices":        validation.GoodPracticesValidator,
		"deprecated-apis":       validation.AlphaDeprecatedAPIsValidator,
	}
	names := make([]string, 0, len(suites))
	for n := range suites {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		results := suites[name].Validate(objs...)
		if len(results) == 0 {
			t.Errorf("%s: the validator checked nothing; the bundle objects were not recognised", name)
		}
		for _, r := range results {
			for _, e := range r.Errors {
				t.Errorf("%s: %s", name, e)
			}
			for _, w := range r.Warnings {
				if acceptedWarning(w.Detail) {
					t.Logf("%s: accepted warning: %s", name, w)
				} else {
					t.Errorf("%s: unexpected warning (fix it, or accept it here and in the README): %s", name, w)
				}
			}
		}
	}
}

// loadBundle does what manifests.GetBundleFromDir does. That function cannot
// be used with the k8s.io/apimachinery of go.mod: it decodes each file a
// second time through the same YAMLOrJSONDecoder after seeking the file back,
// and the decoder of apimachinery v0.37 keeps its own buffer of the stream,
// so the second decode of every CSV ends in EOF.
func loadBundle(t *testing.T, files Files) *manifests.Bundle {
	t.Helper()
	b := &manifests.Bundle{Package: PackageName}
	for _, p := range files.Paths() {
		if p == Dockerfile {
			continue
		}
		content := files[p]
		b.Size += int64(len(content))
		gz, err := encoding.GzipBase64Encode(content)
		if err != nil {
			t.Fatal(err)
		}
		b.CompressedSize += int64(len(gz))
		if filepath.Dir(p) == metadataDir {
			var ann manifests.AnnotationsFile
			if err := yaml.Unmarshal(content, &ann); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			b.Channels = strings.Split(ann.Annotations.Channels, ",")
			b.DefaultChannel = ann.Annotations.DefaultChannelName
			if ann.Annotations.PackageName != PackageName {
				t.Errorf("%s names package %q", p, ann.Annotations.PackageName)
			}
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(content, &obj.Object); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		b.Objects = append(b.Objects, obj)
		switch obj.GetKind() {
		case v1alpha1.ClusterServiceVersionKind:
			b.CSV = &v1alpha1.ClusterServiceVersion{}
			if err := yaml.UnmarshalStrict(content, b.CSV); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			b.Name = b.CSV.Name
		case "CustomResourceDefinition":
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := yaml.UnmarshalStrict(content, crd); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			b.V1CRDs = append(b.V1CRDs, crd)
		}
	}
	return b
}

func TestAcceptedWarningIsNarrow(t *testing.T) {
	ok := `this bundle is using APIs which were deprecated and removed in v1.25. Migrate the API(s) for events: (["x"]),endpointslices: (["y"]),`
	if !acceptedWarning(ok) {
		t.Error("the events/endpointslices RBAC warning should be accepted")
	}
	for _, bad := range []string{
		`this bundle is using APIs which were deprecated and removed in v1.25. Migrate the API(s) for events: (["x"]),cronjobs: (["y"]),`,
		`unable to find the resource requests for the container: (manager).`,
	} {
		if acceptedWarning(bad) {
			t.Errorf("accepted: %s", bad)
		}
	}
}

// The validators refuse examples of kinds the bundle does not own; that is
// why the GatewayClass and Gateway samples go into the description rather
// than alm-examples.
func TestExamplesOfForeignKindsAreRefused(t *testing.T) {
	files, err := Generate(Options{Root: repoRoot(t), Version: "0.1.0", Image: "ghcr.io/drawbridge-dev/drawbridge:v0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	var csv v1alpha1.ClusterServiceVersion
	if err := yaml.Unmarshal(files[filepath.Join(manifestsDir, PackageName+".clusterserviceversion.yaml")], &csv); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(csv.Spec.Description, "kind: GatewayClass") || !strings.Contains(csv.Spec.Description, "kind: Gateway\n") {
		t.Error("the description lacks the GatewayClass and Gateway samples")
	}
	csv.Annotations["alm-examples"] = `[{"apiVersion":"gateway.networking.k8s.io/v1","kind":"Gateway","metadata":{"name":"g"}}]`
	var refused bool
	for _, r := range validation.ClusterServiceVersionValidator.Validate(&csv) {
		for _, e := range r.Errors {
			if e.Type == errors.ErrorInvalidOperation && strings.Contains(e.Detail, "example must have a provided API") {
				refused = true
			}
		}
	}
	if !refused {
		t.Error("a Gateway in alm-examples is accepted now; consider moving the samples back into alm-examples")
	}
}

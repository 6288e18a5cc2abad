package gatewayapi

import (
	"os"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"sigs.k8s.io/gateway-api/pkg/features"
)

func TestSupportedFeaturesAreKnownSortedAndUnique(t *testing.T) {
	known := map[string]bool{}
	for _, f := range features.AllFeatures.UnsortedList() {
		known[string(f.Name)] = true
	}
	got := SupportedFeatures(AllServed())
	if len(got) != len(claimedFeatures) {
		t.Fatalf("%d features published, %d claimed", len(got), len(claimedFeatures))
	}
	for i, f := range got {
		if !known[string(f.Name)] {
			t.Errorf("%s is not a Gateway API v1.7 feature", f.Name)
		}
		if i > 0 && got[i-1].Name >= f.Name {
			t.Errorf("features not sorted and unique at %s", f.Name)
		}
	}
	// A mutation of the result must not change what the next call returns.
	got[0].Name = "Changed"
	if SupportedFeatures(AllServed())[0].Name == "Changed" {
		t.Error("SupportedFeatures shares its slice")
	}
}

func TestSupportedFeaturesFollowTheInstalledKinds(t *testing.T) {
	// The kinds of a v1.7 standard-channel install without the route kinds
	// that older standard channels lacked.
	installed := map[string]bool{"HTTPRoute": true, "GRPCRoute": true, "ReferenceGrant": true}
	got := map[string]bool{}
	for _, f := range SupportedFeatures(Served{Kind: func(kind string) bool { return installed[kind] }, Field: func(string, string) bool { return true }}) {
		got[string(f.Name)] = true
	}
	for _, want := range []features.FeatureName{features.SupportGateway, features.SupportHTTPRoute, features.SupportHTTPRouteQueryParamMatching,
		features.SupportGRPCRoute, features.SupportReferenceGrant, features.SupportGatewayHTTPListenerIsolation} {
		if !got[string(want)] {
			t.Errorf("%s missing though its kind is installed", want)
		}
	}
	for _, notWant := range []features.FeatureName{features.SupportTCPRoute, features.SupportUDPRoute, features.SupportTLSRoute,
		features.SupportTLSRouteModeMixed, features.SupportListenerSet, features.SupportBackendTLSPolicy, features.SupportGatewayBackendClientCertificate} {
		if got[string(notWant)] {
			t.Errorf("%s claimed though its kind is not installed", notWant)
		}
	}
}

func TestEveryClaimedFeatureHasAKnownKind(t *testing.T) {
	for _, f := range claimedFeatures {
		kind := FeatureKind(f)
		if kind == "Gateway" && !strings.HasPrefix(string(f), "Gateway") {
			t.Errorf("%s: no kind found; add its kind to featureKinds", f)
		}
	}
}

// TestClaimMatchesTheConformanceGate keeps the claim and the list the
// conformance step of make test holds the report to in step: a feature
// added to the claim without the gate expecting it (or the reverse) fails
// here rather than silently going untested.
func TestClaimMatchesTheConformanceGate(t *testing.T) {
	data, err := os.ReadFile("../../test/conformance/expected-claim.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Profiles               []string `json:"profiles"`
		ExtendedFeatures       []string `json:"extendedFeatures"`
		CoreFeatures           []string `json:"coreFeatures"`
		ClaimedOutsideProfiles []string `json:"claimedOutsideProfiles"`
	}
	if err := yaml.UnmarshalStrict(data, &want); err != nil {
		t.Fatal(err)
	}
	expected := append(append(append([]string(nil), want.CoreFeatures...), want.ExtendedFeatures...), want.ClaimedOutsideProfiles...)
	slices.Sort(expected)
	var claimed []string
	for _, f := range SupportedFeatures(AllServed()) {
		claimed = append(claimed, string(f.Name))
	}
	if !slices.Equal(claimed, slices.Compact(expected)) {
		t.Errorf("claimed features differ from test/conformance/expected-claim.yaml\nclaimed:  %v\nexpected: %v", claimed, slices.Compact(expected))
	}
}

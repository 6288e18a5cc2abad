package gatewayapi

import (
	"testing"

	"sigs.k8s.io/gateway-api/pkg/features"
)

func TestSupportedFeaturesAreKnownSortedAndUnique(t *testing.T) {
	known := map[string]bool{}
	for _, f := range features.AllFeatures.UnsortedList() {
		known[string(f.Name)] = true
	}
	got := SupportedFeatures()
	if len(got) != len(claimedFeatures) {
		t.Fatalf("%d features published, %d claimed", len(got), len(claimedFeatures))
	}
	for i, f := range got {
		if !known[string(f.Name)] {
			t.Errorf("%s is not a Gateway API v1.6 feature", f.Name)
		}
		if i > 0 && got[i-1].Name >= f.Name {
			t.Errorf("features not sorted and unique at %s", f.Name)
		}
	}
	// A mutation of the result must not change what the next call returns.
	got[0].Name = "Changed"
	if SupportedFeatures()[0].Name == "Changed" {
		t.Error("SupportedFeatures shares its slice")
	}
}

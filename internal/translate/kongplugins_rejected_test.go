package translate_test

import (
	"os"
	"strings"
	"testing"

	"github.com/drawbridge-dev/drawbridge/internal/translate"
	"github.com/drawbridge-dev/drawbridge/internal/translatecli"
)

// snapshotOf decodes a golden input into the snapshot of its one Gateway.
func snapshotOf(t *testing.T, path string) *translate.Snapshot {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs := &translatecli.Objects{}
	if err := objs.Decode(path, f); err != nil {
		t.Fatal(err)
	}
	snaps, _ := objs.Snapshots()
	if len(snaps) != 1 {
		t.Fatalf("%s: %d Gateways", path, len(snaps))
	}
	return snaps[0].Snapshot
}

// A KongPlugin Kong rejected is applied nowhere: a rule naming it in a
// filter answers 500 and its route says Kong rejected it (not that it is
// missing); an access-control plugin attached with targetRefs fails closed.
func TestKongRejectedPlugins(t *testing.T) {
	snap := snapshotOf(t, "testdata/kongplugin-extensionref.in.yaml")
	snap.RejectedKongPlugins = map[translate.KongPluginKey]string{{Namespace: "default", Name: "limit"}: "schema violation (config.minute: expected a number)"}
	res, err := translate.Translate(snap)
	if err != nil {
		t.Fatal(err)
	}
	var routeMsg string
	for _, r := range res.Routes {
		if r.Route.Name == "r" && r.ResolvedRefs.Status == "False" {
			routeMsg = r.ResolvedRefs.Message
		}
	}
	if !strings.Contains(routeMsg, "Kong rejected its configuration: schema violation") {
		t.Errorf("route r ResolvedRefs message %q does not say Kong rejected the plugin", routeMsg)
	}
	for _, p := range res.KongPlugins {
		if p.Plugin.Name == "limit" && (p.Accepted.Status != "False" || p.Accepted.Reason != "Invalid") {
			t.Errorf("KongPlugin limit: %+v", p.Accepted)
		}
	}
	if strings.Contains(string(res.JSON), `"minute":5`) {
		t.Error("the rejected plugin's configuration is still in the Kong configuration")
	}

	// need-key is a key-auth attached to HTTPRoute protected with
	// targetRefs; without its broken configFrom it is valid.
	snap = snapshotOf(t, "testdata/kongplugin-fail-closed.in.yaml")
	key := translate.KongPluginKey{Namespace: "default", Name: "need-key"}
	for i := range snap.KongPlugins {
		if snap.KongPlugins[i].Name == key.Name {
			snap.KongPlugins[i].Spec.ConfigFrom = nil
		}
	}
	before, err := translate.Translate(snap)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(before.JSON), "need-key (plugin key-auth) is invalid") || !strings.Contains(string(before.JSON), `"key-auth"`) {
		t.Fatal("the valid key-auth should simply apply")
	}
	snap.RejectedKongPlugins = map[translate.KongPluginKey]string{key: "unknown field"}
	after, err := translate.Translate(snap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(after.JSON), "need-key (plugin key-auth) is invalid, so the requests it protects are refused: Kong rejected its configuration: unknown field") {
		t.Errorf("a rejected key-auth attached with targetRefs did not make its route refuse requests:\n%s", after.JSON)
	}
}

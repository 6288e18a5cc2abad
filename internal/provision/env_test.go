package provision

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestManagedEnvMatchesTheCELRule keeps the admission rule on
// dataPlane.env and isManagedEnv in step: a name refused at admission but
// not at render (or the reverse) would make a GatewayConfiguration's fate
// depend on which check saw it first.
func TestManagedEnvMatchesTheCELRule(t *testing.T) {
	src, err := os.ReadFile("../../api/v1alpha1/gatewayconfiguration_types.go")
	if err != nil {
		t.Fatal(err)
	}
	rule := regexp.MustCompile(`XValidation:rule="(self\.all\(e, !\(e\.name in \[[^"]*)"`).FindSubmatch(src)
	if rule == nil {
		t.Fatal("no CEL rule on dataPlane.env found in gatewayconfiguration_types.go")
	}
	lists := regexp.MustCompile(`\[([^\]]*)\]`).FindAllSubmatch(rule[1], -1)
	if len(lists) != 2 {
		t.Fatalf("want two lists (names, prefixes) in the rule, got %d: %s", len(lists), rule[1])
	}
	words := func(list []byte) []string {
		var out []string
		for _, w := range strings.Split(string(list), ",") {
			out = append(out, strings.Trim(w, "' "))
		}
		slices.Sort(out)
		return out
	}
	var names []string
	for n := range managedEnv {
		names = append(names, n)
	}
	slices.Sort(names)
	if got := words(lists[0][1]); !slices.Equal(got, names) {
		t.Errorf("CEL names %v, managedEnv %v", got, names)
	}
	prefixes := slices.Sorted(slices.Values(managedEnvPrefixes))
	if got := words(lists[1][1]); !slices.Equal(got, prefixes) {
		t.Errorf("CEL prefixes %v, managedEnvPrefixes %v", got, prefixes)
	}
}

func TestIsManagedEnv(t *testing.T) {
	for name, want := range map[string]bool{
		"KONG_ADMIN_LISTEN": true, "KONG_ADMIN_GUI_URL": true, "KONG_NGINX_ADMIN_ALLOW": true,
		"KONG_UNTRUSTED_LUA": true, "KONG_UNTRUSTED_LUA_SANDBOX_REQUIRES": true, "KONG_ROLE": true,
		"KONG_CLUSTER_CERT": true, "KONG_STATUS_LISTEN": true, "KONG_HEADERS": true,
		"KONG_LOG_LEVEL": false, "KONG_NGINX_WORKER_PROCESSES": false, "KONG_NGINX_PROXY_PROXY_BUFFER_SIZE": false,
		"KONG_TRUSTED_IPS": false, "KONG_HEADERS_X": false, "MY_KONG_ADMIN_LISTEN": false,
	} {
		if got := isManagedEnv(name); got != want {
			t.Errorf("isManagedEnv(%s) = %v, want %v", name, got, want)
		}
	}
}

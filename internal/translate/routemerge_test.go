package translate

import (
	"testing"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// The overlap tests read the predicates as Kong evaluates them; a pair
// reported disjoint that some request matches would let a merge change
// which route serves it (test/kongstandin's TestMergedRoutesRouteAlike
// checks whole translations).
func TestHostsOverlap(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"", "a.example.com", true},
		{"a.example.com", "a.example.com", true},
		{"a.example.com", "b.example.com", false},
		{"*.example.com", "a.example.com", true},
		{"a.example.com", "*.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "*.a.example.com", true},
		{"*.a.example.com", "*.example.com", true},
		{"*.a.example.com", "*.b.example.com", false},
		{"*.example.com", "a.example.org", false},
	} {
		a := footprint{port: 80, host: tc.a, path: pathMatch{kind: gwv1.PathMatchPathPrefix, value: "/"}}
		b := a
		b.host = tc.b
		if got := a.overlap(&b); got != tc.want {
			t.Errorf("hosts %q and %q: overlap %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestPathsOverlap(t *testing.T) {
	exact := func(v string) pathMatch { return pathMatch{kind: gwv1.PathMatchExact, value: v} }
	prefix := func(v string) pathMatch { return pathMatch{kind: gwv1.PathMatchPathPrefix, value: v} }
	regex := func(v string) pathMatch { return pathMatch{kind: gwv1.PathMatchRegularExpression, value: v} }
	for _, tc := range []struct {
		a, b pathMatch
		want bool
	}{
		{exact("/a"), exact("/a"), true},
		{exact("/a"), exact("/b"), false},
		{prefix("/"), exact("/anything"), true},
		{prefix("/a"), exact("/a"), true},
		{prefix("/a"), exact("/a/b"), true},
		{prefix("/a"), exact("/ab"), false},
		{exact("/ab"), prefix("/a"), false},
		{prefix("/a"), prefix("/a/b"), true},
		{prefix("/a/b"), prefix("/a"), true},
		{prefix("/a"), prefix("/ab"), false},
		{prefix("/a/b"), prefix("/a/c"), false},
		{regex("/x"), exact("/y"), true},
		{prefix("/y"), regex("/x"), true},
	} {
		if got := pathsOverlap(tc.a, tc.b); got != tc.want {
			t.Errorf("pathsOverlap(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestFootprintOverlap(t *testing.T) {
	base := footprint{port: 80, host: "a.example.com", path: pathMatch{kind: gwv1.PathMatchPathPrefix, value: "/a"}}
	other := base
	if !base.overlap(&other) {
		t.Error("equal footprints must overlap")
	}
	other.port = 8080
	if base.overlap(&other) {
		t.Error("routes of different listener ports never share a request")
	}
	other = base
	other.method, base.method = "GET", "POST"
	if base.overlap(&other) {
		t.Error("routes of different methods never share a request")
	}
	other.method = ""
	if !base.overlap(&other) {
		t.Error("a route for any method overlaps one for POST")
	}
	if !base.overlap(nil) || !(*footprint)(nil).overlap(&base) {
		t.Error("a route of unknown shape overlaps every route")
	}
}

// Kong orders routes of equal priority by id, so a route with the same
// priority as the one moving up may be tried before it today: moving it up
// past that route must count as passing it.
func TestMayJoinCountsEqualPriorities(t *testing.T) {
	prefix := pathMatch{kind: gwv1.PathMatchPathPrefix, value: "/a"}
	entry := func(priority uint64, name string, key int) *mergeEntry {
		return &mergeEntry{route: &kong.Route{Name: name, Priority: priority}, key: key,
			fp: &footprint{port: 80, host: "a.example.com", path: prefix}}
	}
	// top and moving share a key; other, of another key, overlaps moving
	// and has its priority, but sorts after it here.
	top, moving, other := entry(10, "top", 1), entry(5, "a", 1), entry(5, "b", 2)
	order := []*mergeEntry{top, moving, other}
	runs := [][2]int{{0, 0}, {1, 2}, {1, 2}}
	buckets := map[string][]int{"80 a.example.com": {0, 1, 2}}
	if mayJoin(order, runs, moving, 0, 1, buckets, nil) {
		t.Error("a route moved up past an overlapping route of its own priority")
	}
	other.fp.path = pathMatch{kind: gwv1.PathMatchPathPrefix, value: "/b"}
	if !mayJoin(order, runs, moving, 0, 1, buckets, nil) {
		t.Error("a disjoint route of the same priority blocked the merge")
	}
}

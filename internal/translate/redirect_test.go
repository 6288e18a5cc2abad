package translate

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// runRedirectLua runs a generated chunk against a request and returns the
// status and Location it answers with.
func runRedirectLua(t *testing.T, code, host, path, query string) (int, string) {
	t.Helper()
	L := lua.NewState()
	defer L.Close()
	var status int
	var location string
	req := L.NewTable()
	L.SetField(req, "get_host", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LString(host)); return 1 }))
	L.SetField(req, "get_path", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LString(path)); return 1 }))
	L.SetField(req, "get_raw_query", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LString(query)); return 1 }))
	resp := L.NewTable()
	L.SetField(resp, "exit", L.NewFunction(func(L *lua.LState) int {
		status = L.CheckInt(1)
		location = L.CheckTable(3).RawGetString("Location").String()
		return 0
	}))
	k := L.NewTable()
	L.SetField(k, "request", req)
	L.SetField(k, "response", resp)
	L.SetGlobal("kong", k)
	if err := L.DoString(code); err != nil {
		t.Fatalf("generated Lua fails: %v\n%s", err, code)
	}
	return status, location
}

func TestRedirectLua(t *testing.T) {
	prefix := func(v string) pathMatch { return pathMatch{kind: gwv1.PathMatchPathPrefix, value: v} }
	replacePrefix := func(v string) *gwv1.HTTPPathModifier {
		return &gwv1.HTTPPathModifier{Type: gwv1.PrefixMatchHTTPPathModifier, ReplacePrefixMatch: ptr.To(v)}
	}
	listener := &listenerInfo{spec: gwv1.Listener{Port: 8080, Protocol: gwv1.HTTPProtocolType}}
	cases := []struct {
		name        string
		rr          gwv1.HTTPRequestRedirectFilter
		match       pathMatch
		path, query string
		want        string
	}{
		// The spec's ReplacePrefixMatch table (HTTPPathModifier).
		{"prefix to prefix", gwv1.HTTPRequestRedirectFilter{Path: replacePrefix("/xyz")}, prefix("/foo"), "/foo/bar", "", "http://gw.test:8080/xyz/bar"},
		{"replacement with trailing slash", gwv1.HTTPRequestRedirectFilter{Path: replacePrefix("/xyz/")}, prefix("/foo"), "/foo/bar", "", "http://gw.test:8080/xyz/bar"},
		{"match with trailing slash", gwv1.HTTPRequestRedirectFilter{Path: replacePrefix("/xyz")}, prefix("/foo/"), "/foo/bar", "", "http://gw.test:8080/xyz/bar"},
		{"whole path is the prefix", gwv1.HTTPRequestRedirectFilter{Path: replacePrefix("/xyz")}, prefix("/foo"), "/foo", "", "http://gw.test:8080/xyz"},
		{"prefix with trailing slash kept", gwv1.HTTPRequestRedirectFilter{Path: replacePrefix("/xyz")}, prefix("/foo"), "/foo/", "", "http://gw.test:8080/xyz/"},
		{"to root", gwv1.HTTPRequestRedirectFilter{Path: replacePrefix("/")}, prefix("/foo"), "/foo/bar", "", "http://gw.test:8080/bar"},
		{"root to root", gwv1.HTTPRequestRedirectFilter{Path: replacePrefix("/")}, prefix("/foo"), "/foo", "", "http://gw.test:8080/"},
		{"from root", gwv1.HTTPRequestRedirectFilter{Path: replacePrefix("/xyz")}, prefix("/"), "/foo", "q=1", "http://gw.test:8080/xyz/foo?q=1"},
		{"query kept with the path", gwv1.HTTPRequestRedirectFilter{}, prefix("/"), "/a/b", "x=1&y=2", "http://gw.test:8080/a/b?x=1&y=2"},
		{"full path drops the query", gwv1.HTTPRequestRedirectFilter{Path: &gwv1.HTTPPathModifier{Type: gwv1.FullPathHTTPPathModifier, ReplaceFullPath: ptr.To("/new")}},
			prefix("/"), "/old", "x=1", "http://gw.test:8080/new"},
		// Port rules: a new scheme takes its well-known port, which is left out.
		{"scheme change", gwv1.HTTPRequestRedirectFilter{Scheme: ptr.To("https")}, prefix("/"), "/s", "", "https://gw.test/s"},
		{"explicit port", gwv1.HTTPRequestRedirectFilter{Port: ptr.To(gwv1.PortNumber(8443)), Scheme: ptr.To("https")}, prefix("/"), "/s", "", "https://gw.test:8443/s"},
		{"well-known port left out", gwv1.HTTPRequestRedirectFilter{Port: ptr.To(gwv1.PortNumber(80))}, prefix("/"), "/s", "", "http://gw.test/s"},
		{"status", gwv1.HTTPRequestRedirectFilter{StatusCode: ptr.To(308)}, prefix("/"), "/s", "", "http://gw.test:8080/s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name, cfg, err := redirectPlugin(&tc.rr, pluginScope{scope: scope{listener: listener}, path: tc.match})
			if err != nil {
				t.Fatal(err)
			}
			if name != "pre-function" {
				t.Fatalf("plugin %s, want pre-function for a redirect to the request's host", name)
			}
			status, loc := runRedirectLua(t, cfg["access"].([]string)[0], "gw.test", tc.path, tc.query)
			wantStatus := 302
			if tc.rr.StatusCode != nil {
				wantStatus = *tc.rr.StatusCode
			}
			if status != wantStatus || loc != tc.want {
				t.Errorf("got %d %q, want %d %q", status, loc, wantStatus, tc.want)
			}
		})
	}
}

func TestRedirectToKnownHostUsesRedirectPlugin(t *testing.T) {
	listener := &listenerInfo{spec: gwv1.Listener{Port: 80, Protocol: gwv1.HTTPProtocolType}}
	name, cfg, err := redirectPlugin(&gwv1.HTTPRequestRedirectFilter{Hostname: ptr.To(gwv1.PreciseHostname("example.org"))},
		pluginScope{scope: scope{listener: listener}, path: pathMatch{kind: gwv1.PathMatchPathPrefix, value: "/"}})
	if err != nil || name != "redirect" || cfg["location"] != "http://example.org/" || cfg["keep_incoming_path"] != true {
		t.Errorf("got %s %v %v", name, cfg, err)
	}
}

// A value from the route can never end the Lua string it is embedded in.
func TestLuaQuote(t *testing.T) {
	hostile := "/a\"..os.exit()..\"\\\n\x00é]]"
	L := lua.NewState()
	defer L.Close()
	if err := L.DoString("result = " + luaQuote(hostile)); err != nil {
		t.Fatal(err)
	}
	if got := L.GetGlobal("result").String(); got != hostile {
		t.Errorf("round trip %q, want %q", got, hostile)
	}
	if strings.ContainsAny(luaQuote(hostile), "\n\x00") {
		t.Errorf("raw control bytes in %q", luaQuote(hostile))
	}
}

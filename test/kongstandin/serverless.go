package kongstandin

// The pre-function serverless plugin: Lua chunks run in the access phase,
// before every other plugin (PRIORITY 1000000), inside Kong's sandbox
// (untrusted_lua = sandbox, the default). The stand-in runs the chunks with
// a real Lua 5.1 interpreter (gopher-lua) and gives them the part of Kong's
// PDK that Drawbridge's generated code uses; any other global is nil, so
// code outside that part fails the request with a 500 as a Lua error does
// in Kong.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// luaRunTimeout bounds one request's Lua, so a runaway loop costs a 500,
// not a stuck connection.
const luaRunTimeout = time.Second

// compileLua parses and compiles one chunk, as Kong's schema does when the
// plugin is configured.
func compileLua(name, src string) (*lua.FunctionProto, error) {
	chunk, err := parse.Parse(strings.NewReader(src), name)
	if err != nil {
		return nil, err
	}
	return lua.Compile(chunk, name)
}

// checkLuaChunk is the schema check of one phase entry.
func checkLuaChunk(v any) string {
	if _, err := compileLua("pre-function", v.(string)); err != nil {
		return fmt.Sprintf("Error parsing pre-function: %v", err)
	}
	return ""
}

// checkServerlessPhases refuses phases other than access: the stand-in runs
// no other phase, and Drawbridge generates code for access only.
func checkServerlessPhases(cfg map[string]any) string {
	for _, phase := range []string{"certificate", "rewrite", "header_filter", "body_filter", "log"} {
		if len(getStrings(cfg, phase)) > 0 {
			return fmt.Sprintf("phase %s is outside the stand-in's scope (Drawbridge generates access code only)", phase)
		}
	}
	return ""
}

type preFunction struct {
	noHeaderFilter
	chunks []*lua.FunctionProto
}

func newPreFunction(cfg map[string]any) (plugin, error) {
	p := &preFunction{}
	for i, src := range getStrings(cfg, "access") {
		proto, err := compileLua(fmt.Sprintf("access[%d]", i+1), src)
		if err != nil {
			return nil, err
		}
		p.chunks = append(p.chunks, proto)
	}
	return p, nil
}

// errExited unwinds the Lua stack after kong.response.exit.
var errExited = errors.New("kong.response.exit")

func (p *preFunction) access(st *proxyState) *exitResponse {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	ctx, cancel := context.WithTimeout(st.req.Context(), luaRunTimeout)
	defer cancel()
	L.SetContext(ctx)
	openSandbox(L)
	var exit *exitResponse
	L.SetGlobal("kong", kongPDK(L, st, &exit))
	for _, proto := range p.chunks {
		L.Push(L.NewFunctionFromProto(proto))
		err := L.PCall(0, 0, nil)
		if exit != nil {
			return exit
		}
		if err != nil {
			st.s.errLog.Printf("pre-function: %v", err)
			return exitJSON(http.StatusInternalServerError, map[string]string{"message": "An unexpected error occurred"}, nil)
		}
	}
	return nil
}

// openSandbox opens the libraries Kong's sandbox leaves to untrusted code
// (no io, os, debug, package or loading of other code).
func openSandbox(L *lua.LState) {
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	for _, name := range []string{"dofile", "loadfile", "load", "loadstring", "require", "module", "getfenv", "setfenv", "collectgarbage", "newproxy"} {
		L.SetGlobal(name, lua.LNil)
	}
}

// kongPDK builds the kong table: kong.request getters over the request as
// it arrived, and kong.response.exit.
func kongPDK(L *lua.LState, st *proxyState, exit **exitResponse) *lua.LTable {
	str := func(f func() string) *lua.LFunction {
		return L.NewFunction(func(L *lua.LState) int { L.Push(lua.LString(f())); return 1 })
	}
	req := L.NewTable()
	L.SetFuncs(req, map[string]lua.LGFunction{
		"get_header": func(L *lua.LState) int {
			vals := st.origHeader.Values(L.CheckString(1))
			if len(vals) == 0 {
				L.Push(lua.LNil)
			} else {
				L.Push(lua.LString(vals[0]))
			}
			return 1
		},
	})
	// get_path is normalize(get_raw_path(), true) in Kong 3.9.3
	// (kong/pdk/request.lua): the normalized path the router saw, without
	// the query; seen on real Kong by test/kongdiff (dot segments and
	// doubled slashes in redirects).
	L.SetField(req, "get_path", str(func() string { return st.origPath }))
	L.SetField(req, "get_raw_query", str(func() string { return st.req.URL.RawQuery }))
	L.SetField(req, "get_scheme", str(func() string { return st.scheme }))
	// get_host is nginx's $host: lower-case, no port, no trailing dot.
	L.SetField(req, "get_host", str(func() string { return strings.TrimSuffix(st.host, ".") }))
	L.SetField(req, "get_method", str(func() string { return st.req.Method }))

	resp := L.NewTable()
	L.SetField(resp, "exit", L.NewFunction(func(L *lua.LState) int {
		status := L.CheckInt(1)
		h := http.Header{}
		if t, ok := L.Get(3).(*lua.LTable); ok {
			t.ForEach(func(k, v lua.LValue) { h.Set(k.String(), v.String()) })
		}
		var body []byte
		switch b := L.Get(2).(type) {
		case lua.LString:
			body = []byte(b)
		case *lua.LTable:
			m := map[string]string{}
			b.ForEach(func(k, v lua.LValue) { m[k.String()] = v.String() })
			body, _ = json.Marshal(m)
			h.Set("Content-Type", "application/json; charset=utf-8")
		}
		*exit = &exitResponse{status: status, header: h, body: body}
		L.RaiseError("%s", errExited.Error())
		return 0
	}))
	kong := L.NewTable()
	L.SetField(kong, "request", req)
	L.SetField(kong, "response", resp)
	return kong
}

package kongstandin

// The pre-function serverless plugin: Lua chunks run in the rewrite phase
// (global instances only, before the router) and in the access phase,
// before every other plugin (PRIORITY 1000000), inside Kong's sandbox
// (untrusted_lua = sandbox, the default). The stand-in runs the chunks with
// a real Lua 5.1 interpreter (gopher-lua) and gives them the part of Kong's
// PDK that Drawbridge's generated code uses; any other global is nil, so
// code outside that part fails the request with a 500 as a Lua error does
// in Kong.

import (
	"context"
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

// checkServerlessPhases refuses phases other than rewrite and access: the
// stand-in runs no other phase, and Drawbridge generates code for those two
// only.
func checkServerlessPhases(cfg map[string]any) string {
	for _, phase := range []string{"certificate", "header_filter", "body_filter", "log"} {
		if len(getStrings(cfg, phase)) > 0 {
			return fmt.Sprintf("phase %s is outside the stand-in's scope (Drawbridge generates rewrite and access code only)", phase)
		}
	}
	return ""
}

type preFunction struct {
	noHeaderFilter
	rewrite, chunks []*lua.FunctionProto
}

func newPreFunction(cfg map[string]any) (plugin, error) {
	p := &preFunction{}
	for _, phase := range []string{"rewrite", "access"} {
		for i, src := range getStrings(cfg, phase) {
			proto, err := compileLua(fmt.Sprintf("%s[%d]", phase, i+1), src)
			if err != nil {
				return nil, err
			}
			if phase == "rewrite" {
				p.rewrite = append(p.rewrite, proto)
			} else {
				p.chunks = append(p.chunks, proto)
			}
		}
	}
	return p, nil
}

// errExited unwinds the Lua stack after kong.response.exit.
var errExited = errors.New("kong.response.exit")

// runRewrite runs the rewrite chunks. Kong runs the rewrite phase only for
// global plugins, before the router (kong/init.lua Kong.rewrite).
func (p *preFunction) runRewrite(st *proxyState) *exitResponse {
	return st.runLua(p.rewrite)
}

func (p *preFunction) access(st *proxyState) *exitResponse {
	return st.runLua(p.chunks)
}

// luaState returns the request's Lua state, creating it on first use. One
// state serves every phase of a request, so ngx.ctx carries values from
// rewrite to access as it does in Kong.
func (st *proxyState) luaState() *lua.LState {
	if st.lua != nil {
		return st.lua
	}
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	ctx, cancel := context.WithTimeout(st.req.Context(), luaRunTimeout)
	st.luaCancel = cancel
	L.SetContext(ctx)
	openSandbox(L)
	st.luaCtx = L.NewTable()
	L.SetGlobal("kong", kongPDK(L, st))
	L.SetGlobal("ngx", ngxAPI(L, st))
	st.lua = L
	return L
}

// closeLua releases the request's Lua state.
func (st *proxyState) closeLua() {
	if st.lua != nil {
		st.lua.Close()
		st.luaCancel()
	}
}

func (st *proxyState) runLua(chunks []*lua.FunctionProto) *exitResponse {
	if len(chunks) == 0 {
		return nil
	}
	L := st.luaState()
	for _, proto := range chunks {
		L.Push(L.NewFunctionFromProto(proto))
		err := L.PCall(0, 0, nil)
		if st.luaExit != nil {
			exit := st.luaExit
			st.luaExit = nil
			return exit
		}
		if err != nil {
			st.s.errLog.Printf("pre-function: %v", err)
			return exitJSON(http.StatusInternalServerError, map[string]any{"message": "An unexpected error occurred"}, nil)
		}
	}
	return nil
}

// cachedHost is the host in ngx.ctx.cached_request_headers, the table
// kong.tools.http.get_header(name, ctx) reads when it is set, and whether
// the table is set.
func (st *proxyState) cachedHost() (string, bool) {
	if st.luaCtx == nil {
		return "", false
	}
	t, ok := st.luaCtx.RawGetString("cached_request_headers").(*lua.LTable)
	if !ok {
		return "", false
	}
	switch v := t.RawGetString("host").(type) {
	case lua.LString:
		return string(v), true
	case *lua.LTable:
		if s, ok := v.RawGetInt(1).(lua.LString); ok {
			return string(s), true
		}
	}
	return "", true
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

// ngxAPI builds the part of ngx that the generated code uses: ngx.ctx (one
// table per request), ngx.req.get_headers() (lower-case names, a list for
// repeated headers, host included) and ngx.var.upstream_host / ngx.var.host.
func ngxAPI(L *lua.LState, st *proxyState) *lua.LTable {
	ngx := L.NewTable()
	L.SetField(ngx, "ctx", st.luaCtx)
	req := L.NewTable()
	L.SetField(req, "get_headers", L.NewFunction(func(L *lua.LState) int {
		t := L.NewTable()
		for name, vals := range st.origHeader {
			key := strings.ToLower(name)
			if len(vals) == 1 {
				t.RawSetString(key, lua.LString(vals[0]))
				continue
			}
			list := L.NewTable()
			for _, v := range vals {
				list.Append(lua.LString(v))
			}
			t.RawSetString(key, list)
		}
		if st.req.Host != "" {
			t.RawSetString("host", lua.LString(st.req.Host))
		}
		L.Push(t)
		return 1
	}))
	L.SetField(req, "http_version", L.NewFunction(func(L *lua.LState) int {
		v := float64(st.req.ProtoMajor)
		if st.req.ProtoMajor == 1 {
			v += float64(st.req.ProtoMinor) / 10
		}
		L.Push(lua.LNumber(v))
		return 1
	}))
	L.SetField(ngx, "req", req)
	vars := L.NewTable()
	meta := L.NewTable()
	L.SetField(meta, "__index", L.NewFunction(func(L *lua.LState) int {
		switch L.CheckString(2) {
		case "upstream_host":
			L.Push(lua.LString(st.upstreamHost))
		case "host":
			L.Push(lua.LString(st.host))
		default:
			L.Push(lua.LNil)
		}
		return 1
	}))
	L.SetField(meta, "__newindex", L.NewFunction(func(L *lua.LState) int {
		if L.CheckString(2) != "upstream_host" {
			L.RaiseError("ngx.var.%s is outside the stand-in's scope", L.CheckString(2))
		}
		st.upstreamHost = L.CheckString(3)
		return 0
	}))
	L.SetMetatable(vars, meta)
	L.SetField(ngx, "var", vars)
	return ngx
}

// kongPDK builds the kong table: kong.request getters over the request as
// it arrived, and kong.response.exit.
func kongPDK(L *lua.LState, st *proxyState) *lua.LTable {
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
		exit := &exitResponse{status: status, header: h}
		switch b := L.Get(2).(type) {
		case lua.LString:
			exit.body = []byte(b)
		case *lua.LTable:
			m := map[string]any{}
			b.ForEach(func(k, v lua.LValue) { m[k.String()] = v.String() })
			exit.table = m
		}
		st.luaExit = exit
		L.RaiseError("%s", errExited.Error())
		return 0
	}))
	// kong.response.error(status, message): Kong's own error response.
	L.SetField(resp, "error", L.NewFunction(func(L *lua.LState) int {
		status := L.CheckInt(1)
		msg := L.OptString(2, http.StatusText(status))
		st.luaExit = st.kongError(status, msg)
		L.RaiseError("%s", errExited.Error())
		return 0
	}))
	kong := L.NewTable()
	L.SetField(kong, "request", req)
	L.SetField(kong, "response", resp)
	return kong
}

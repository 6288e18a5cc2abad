package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestKongEnv(t *testing.T) {
	file := filepath.Join(t.TempDir(), "env")
	content := "PATH=/k/bin:/usr/bin\nLUA_PATH=/k/?.lua;;\nKONG_LUA_PACKAGE_PATH=/k/?.lua\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	pod := []string{"PATH=/pod/bin", "KONG_PREFIX=/kong_prefix", "KONG_LUA_PACKAGE_PATH=/pod/?.lua", "KONG_NGINX_DAEMON=on"}
	env, err := kongEnv(pod, file)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PATH=/k/bin:/usr/bin", "KONG_PREFIX=/kong_prefix", "KONG_LUA_PACKAGE_PATH=/pod/?.lua;/k/?.lua",
		"KONG_NGINX_DAEMON=off", "LUA_PATH=/k/?.lua;;"}
	if !slices.Equal(env, want) {
		t.Errorf("kongEnv = %q, want %q", env, want)
	}
	if got := getenv(env, "KONG_PREFIX"); got != "/kong_prefix" {
		t.Errorf("KONG_PREFIX = %q", got)
	}
	if _, err := kongEnv(pod, filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("kongEnv without an install: no error")
	}
}

func TestLuaPackagePath(t *testing.T) {
	const install = "/k/share/lua/5.1/?.lua;/k/share/lua/5.1/?/init.lua"
	cases := []struct{ pod, want string }{
		{"", install},
		// What Drawbridge sets for custom plugins: its tree, then the default.
		{"/opt/drawbridge/plugins/?.lua;/opt/drawbridge/plugins/?/init.lua;;",
			"/opt/drawbridge/plugins/?.lua;/opt/drawbridge/plugins/?/init.lua;" + install},
		{"/p/?.lua", "/p/?.lua;" + install},
		{"/a/?.lua;;/b/?.lua", "/a/?.lua;" + install + ";/b/?.lua"},
		{";;", install},
	}
	for _, tc := range cases {
		got := luaPackagePath(tc.pod, install)
		if got != tc.want {
			t.Errorf("luaPackagePath(%q) = %q, want %q", tc.pod, got, tc.want)
		}
		if strings.Contains(got, ";;") || strings.HasPrefix(got, ";") || strings.HasSuffix(got, ";") {
			t.Errorf("luaPackagePath(%q) = %q has an empty entry", tc.pod, got)
		}
	}
	if got := luaPackagePath("/p/?.lua;;", ""); got != "/p/?.lua" {
		t.Errorf("without an install path: %q", got)
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kong"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := lookPath("kong", []string{"PATH=/nonexistent:" + dir})
	if err != nil || got != filepath.Join(dir, "kong") {
		t.Errorf("lookPath = %q, %v", got, err)
	}
	if _, err := lookPath("nginx", []string{"PATH=" + dir}); err == nil {
		t.Error("lookPath found a missing program")
	}
}

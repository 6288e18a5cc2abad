package main

import (
	"os"
	"path/filepath"
	"slices"
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
	want := []string{"PATH=/k/bin:/usr/bin", "KONG_PREFIX=/kong_prefix", "KONG_LUA_PACKAGE_PATH=/k/?.lua",
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

// Command kong-launcher is what the lab runs for the kong:3.9 images: the
// entrypoint of the official image, for the Kong build in bin/kong
// (hack/build-kong.sh). With no arguments it does what the image's
// `docker-start` does: `kong prepare` the pod's KONG_PREFIX from the pod's
// KONG_* environment, then replace itself with nginx in the foreground, so
// the container's process is nginx and gets the kubelet's signals. With
// arguments it is the image's `kong` command (`kong quit --wait=15` in the
// data plane's preStop hook, `kong health`, `kong docker-start`), or, for
// an absolute path, that command: the image's entrypoint runs anything
// that is not `kong` as it is.
//
// The lab starts containers through a file descriptor, which an interpreter
// script cannot be; hence a binary. The Kong install directory is compiled
// in (-ldflags -X main.installDir=...), because nginx, LuaJIT and OpenResty
// carry their absolute install paths anyway.
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// installDir is the Kong build, e.g. /src/drawbridge/bin/kong/3.9.3.
var installDir string

// defaultPrefix is the official image's KONG_PREFIX.
const defaultPrefix = "/usr/local/kong"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "kong-launcher: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if installDir == "" {
		return fmt.Errorf("built without an install directory (-ldflags -X main.installDir=...)")
	}
	env, err := kongEnv(os.Environ(), filepath.Join(installDir, "env"))
	if err != nil {
		return err
	}
	// Kong looks for its .proto files under ./kong/include.
	if err := os.Chdir(filepath.Join(installDir, "run")); err != nil {
		return fmt.Errorf("kong install %s: %w", installDir, err)
	}
	kong, err := lookPath("kong", env)
	if err != nil {
		return err
	}
	// The image's entrypoint: `kong ...` is Kong's CLI (`kong docker-start`
	// its start), a path is any other command, run as it is (`exec "$@"`):
	// the data plane's start script is `/bin/sh -c '...'`, which calls this
	// program again as /docker-entrypoint.sh (the lab mounts it there).
	if len(args) > 0 && args[0] == "kong" {
		args = args[1:]
	}
	if len(args) > 0 && strings.HasPrefix(args[0], "/") {
		return syscall.Exec(args[0], args, env)
	}
	if len(args) > 0 && args[0] != "docker-start" {
		return syscall.Exec(kong, append([]string{"kong"}, args...), env)
	}
	prefix := getenv(env, "KONG_PREFIX")
	if prefix == "" {
		prefix = defaultPrefix
		env = append(env, "KONG_PREFIX="+prefix)
	}
	prepare := exec.Command(kong, "prepare", "-p", prefix)
	prepare.Env, prepare.Stdout, prepare.Stderr = env, os.Stdout, os.Stderr
	if err := prepare.Run(); err != nil {
		return fmt.Errorf("kong prepare -p %s: %w", prefix, err)
	}
	nginx, err := lookPath("nginx", env)
	if err != nil {
		return err
	}
	return syscall.Exec(nginx, []string{"nginx", "-p", prefix, "-c", "nginx.conf"}, env)
}

// kongEnv is the pod's environment with what the install needs to run: its
// PATH and Lua search paths (from the install's env file), and nginx in the
// foreground. The pod's own KONG_* settings win over the install's
// defaults, except the search paths, which only the install knows: the
// pod's KONG_LUA_PACKAGE_PATH (custom plugins) is kept in front of the
// install's, see luaPackagePath.
func kongEnv(podEnv []string, envFile string) ([]string, error) {
	f, err := os.Open(envFile)
	if err != nil {
		return nil, fmt.Errorf("kong install: %w (make kong builds it)", err)
	}
	defer f.Close()
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	for _, kv := range podEnv {
		if k, v, ok := strings.Cut(kv, "="); ok {
			set(k, v)
		}
	}
	podLuaPath := vars["KONG_LUA_PACKAGE_PATH"]
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && k != "" {
			if k == "KONG_LUA_PACKAGE_PATH" {
				v = luaPackagePath(podLuaPath, v)
			}
			set(k, v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", envFile, err)
	}
	set("KONG_NGINX_DAEMON", "off")
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vars[k])
	}
	return out, nil
}

// luaPackagePath combines the pod's lua_package_path with the install's.
// In the pod's value ";;" stands for Kong's default path, which in the lab
// is the install's path: the install's entries go there, or after the
// pod's entries when the pod's value has no ";;". The result has no empty
// entries and no ";;" of its own (Kong's nginx template appends one).
func luaPackagePath(pod, install string) string {
	var entries []string
	add := func(path string) {
		for _, e := range strings.Split(path, ";") {
			if e != "" {
				entries = append(entries, e)
			}
		}
	}
	before, after, hasDefault := strings.Cut(pod, ";;")
	if !hasDefault {
		before, after = pod, ""
	}
	add(before)
	add(install)
	add(after)
	return strings.Join(entries, ";")
}

func getenv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// lookPath finds name on the PATH of env (not the launcher's own).
func lookPath(name string, env []string) (string, error) {
	for _, dir := range filepath.SplitList(getenv(env, "PATH")) {
		p := filepath.Join(dir, name)
		if info, err := os.Stat(p); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not in the kong install's PATH", name)
}

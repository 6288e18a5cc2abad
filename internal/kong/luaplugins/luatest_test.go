package luaplugins_test

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/kong/luaplugins"
	"github.com/drawbridge-dev/drawbridge/internal/testutil/realkong"
)

// TestLuaUnitTests runs every plugins/<plugin>/*_test.lua with the lab
// Kong's `resty` (OpenResty's LuaJIT and ngx API, Kong's Lua modules on
// the path), each in its own process. A test file fails by raising an
// error (assert).
func TestLuaUnitTests(t *testing.T) {
	in, why := realkong.FindInstall()
	if in == nil {
		t.Skip(why)
	}
	resty, err := in.LookPath("resty")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := luaplugins.WriteTree(root); err != nil {
		t.Fatal(err)
	}
	var tests []string
	err = fs.WalkDir(luaplugins.Sources(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, "_test.lua") {
			tests = append(tests, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tests {
		t.Run(p, func(t *testing.T) {
			src, err := fs.ReadFile(luaplugins.Sources(), p)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(root, "tests", filepath.FromSlash(p))
			if err := writeFile(file, src); err != nil {
				t.Fatal(err)
			}
			luaPath := root + "/?.lua;" + root + "/?/init.lua;" + in.Env["KONG_LUA_PACKAGE_PATH"] + ";;"
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, resty, "-e", "package.path = "+luaString(luaPath)+" .. ';' .. package.path", file)
			cmd.Env = in.Environ(map[string]string{"LUA_PATH": luaPath, "LUA_CPATH": in.Env["KONG_LUA_PACKAGE_CPATH"] + ";;"})
			cmd.Dir = path.Dir(file)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", p, err, out)
			}
			t.Logf("%s", out)
		})
	}
}

func luaString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

func writeFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o644)
}

// Package luaplugins holds Drawbridge's own Kong plugins: Lua sources that
// ship inside the operator binary and are mounted into every data plane it
// provisions, so they are versioned and upgraded with the operator. They
// give Kong what its open-source plugins lack for Gateway API features
// (mirroring, retries on status codes, per-port client certificates,
// backend TLS, CORS as the spec defines it).
//
// Plugin <name> lives in plugins/<name>/ here and is installed as
// kong/plugins/<name>/ under a directory on Kong's Lua path.
package luaplugins

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

//go:embed plugins
var embedded embed.FS

// sources is the plugins directory: one subdirectory per plugin.
var sources = mustSub(embedded, "plugins")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(fmt.Sprintf("luaplugins: %v", err))
	}
	return sub
}

// Prefix starts the name of every Drawbridge plugin; custom plugins may not
// use it.
const Prefix = "drawbridge-"

// File is one Lua file of a plugin.
type File struct {
	Plugin string // plugin name, e.g. drawbridge-cors
	Name   string // file name inside kong/plugins/<plugin>/, e.g. handler.lua
	Data   []byte
}

// The embedded tree never changes while the process runs, and Render asks
// for the files and their hash on every Gateway reconcile: read and hash
// them once.
var (
	names  = sync.OnceValue(readNames)
	files  = sync.OnceValue(readFiles)
	digest = sync.OnceValue(hashFiles)
)

// Names are the plugins, sorted. The slice is shared: do not modify it.
func Names() []string { return names() }

func readNames() []string {
	entries, err := fs.ReadDir(sources, ".")
	if err != nil {
		panic(fmt.Sprintf("luaplugins: read embedded tree: %v", err))
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// IsDrawbridgePlugin reports whether name is one of the plugins shipped here.
func IsDrawbridgePlugin(name string) bool {
	for _, n := range Names() {
		if n == name {
			return true
		}
	}
	return false
}

// Files lists every Lua file of every plugin (tests excluded), sorted by
// plugin then file name. The slice is shared: do not modify it.
func Files() []File { return files() }

func readFiles() []File {
	var out []File
	for _, plugin := range Names() {
		entries, err := fs.ReadDir(sources, plugin)
		if err != nil {
			panic(fmt.Sprintf("luaplugins: read %s: %v", plugin, err))
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".lua") || strings.HasSuffix(e.Name(), "_test.lua") {
				continue
			}
			data, err := fs.ReadFile(sources, path.Join(plugin, e.Name()))
			if err != nil {
				panic(fmt.Sprintf("luaplugins: read %s/%s: %v", plugin, e.Name(), err))
			}
			out = append(out, File{Plugin: plugin, Name: e.Name(), Data: data})
		}
	}
	return out
}

// Hash identifies the plugins' content: a data plane whose pods were
// started with another hash runs other Lua and must roll.
func Hash() string { return digest() }

func hashFiles() string {
	h := sha256.New()
	for _, f := range Files() {
		fmt.Fprintf(h, "%s/%s %d\n", f.Plugin, f.Name, len(f.Data))
		h.Write(f.Data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// WriteTree writes kong/plugins/<name>/<file> under root, for a Kong that
// runs outside Kubernetes (the lab's test harnesses). Put root/?.lua on
// Kong's Lua path.
func WriteTree(root string) error {
	for _, f := range Files() {
		dir := filepath.Join(root, "kong", "plugins", f.Plugin)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("write Drawbridge plugins: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return fmt.Errorf("write Drawbridge plugins: %w", err)
		}
	}
	return nil
}

// ConfigMapKey is the key of a file in the ConfigMap that carries the
// plugins into a data plane: ConfigMap keys cannot hold "/", so the
// plugin and file names are joined with "." and a volume item maps the key
// back to kong/plugins/<plugin>/<file>.
func ConfigMapKey(f File) string { return f.Plugin + "." + f.Name }

// InstallPath is where a file goes under the plugins' Lua root.
func InstallPath(f File) string { return path.Join("kong", "plugins", f.Plugin, f.Name) }

// Sources is the plugins tree: plugins/<name>/<file>, unit tests included.
func Sources() fs.FS { return sources }

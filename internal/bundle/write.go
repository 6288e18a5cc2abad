package bundle

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces the bundle under root with files: bundle/ is emptied first,
// so a manifest that is no longer generated does not linger.
func Write(root string, files Files) error {
	return files.Replace(root, BundleDir)
}

// Replace removes the directory dir under root and writes every file (paths
// relative to root), so that nothing generated earlier lingers in dir.
func (f Files) Replace(root, dir string) error {
	if err := os.RemoveAll(filepath.Join(root, dir)); err != nil {
		return fmt.Errorf("remove old %s: %w", dir, err)
	}
	for _, p := range f.Paths() {
		path := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, f[p], 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}

// Read loads the bundle files present under root, in the same shape as
// Generate returns them.
func Read(root string) (Files, error) {
	files := Files{}
	err := filepath.WalkDir(filepath.Join(root, BundleDir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files[rel], err = os.ReadFile(path)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", BundleDir, err)
	}
	b, err := os.ReadFile(filepath.Join(root, Dockerfile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err == nil {
		files[Dockerfile] = b
	}
	return files, nil
}

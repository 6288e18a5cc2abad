package node

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The test binary doubles as pod-init when asked, as the lab binary does.
func TestMain(m *testing.M) {
	if os.Getenv("LAB_TEST_POD_INIT") == "1" {
		if err := RunInit(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "pod-init:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// runPodInit runs a shell script through pod-init in a new mount namespace
// with a rw and a ro volume and returns what it printed on its stdout, a
// log file like the node's.
func runPodInit(t *testing.T, readOnlyRoot bool, script string) (dir, out string) {
	t.Helper()
	dir = t.TempDir()
	for _, d := range []string{"rw-src", "ro-src", "mnt/rw", "mnt/ro"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(dir, "stdout.log")
	// Opened for appending, as the node opens container logs.
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	args := []string{
		"--mount", filepath.Join(dir, "rw-src") + ":" + filepath.Join(dir, "mnt/rw"),
		"--mount", filepath.Join(dir, "ro-src") + ":" + filepath.Join(dir, "mnt/ro") + ":ro",
	}
	if readOnlyRoot {
		args = append(args, "--read-only-root")
	}
	args = append(args, "--", "/bin/sh", "-c", script)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "LAB_TEST_POD_INIT=1", "D="+dir)
	cmd.Stdout, cmd.Stderr = log, log
	// Its own mount namespace, as the node starts containers: nothing it
	// mounts reaches the test's.
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(logPath)
		t.Fatalf("pod-init: %v\n%s", err, b)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	return dir, string(b)
}

const writeProbe = `echo reopened-stdout >> /dev/stdout
touch "$D/on-root" 2>/dev/null && echo root-writable
touch "$D/mnt/rw/file" && echo volume-writable
touch "$D/mnt/ro/file" 2>/dev/null && echo ro-volume-writable
true`

func TestReadOnlyRootFilesystem(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("pod-init needs root (mount namespaces); the lab suites run as root under make test")
	}
	dir, out := runPodInit(t, true, writeProbe)
	lines := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		lines[l] = true
	}
	for _, want := range []string{"reopened-stdout", "volume-writable"} {
		if !lines[want] {
			t.Errorf("read-only root: output lacks %q:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"root-writable", "ro-volume-writable"} {
		if lines[unwanted] {
			t.Errorf("read-only root: %s:\n%s", unwanted, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "rw-src", "file")); err != nil {
		t.Errorf("the write to the writable volume did not reach its source: %v", err)
	}

	// The same without the flag writes the root: the check above can fail.
	_, out = runPodInit(t, false, writeProbe)
	if !strings.Contains(out, "root-writable") {
		t.Errorf("without --read-only-root the root should be writable:\n%s", out)
	}
}

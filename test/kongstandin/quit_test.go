package kongstandin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// kong quit reads the node's pid from <prefix>/pids/nginx.pid and stops it
// with SIGQUIT (Kong 3.9 cmd/quit.lua).
func TestQuitSignalsTheRecordedNode(t *testing.T) {
	prefix := t.TempDir()
	node := exec.Command("sleep", "30")
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- node.Wait() }()
	if err := os.MkdirAll(filepath.Join(prefix, "pids"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(PidFile(prefix), []byte(strconv.Itoa(node.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := Quit([]string{"--prefix", prefix, "--wait=1", "--timeout", "5"}, t.Logf); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("quit returned after %s, before its --wait", waited)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = node.Process.Kill()
		t.Fatal("the node was not stopped")
	}
	if err := Quit([]string{"-p", t.TempDir()}, t.Logf); err == nil {
		t.Error("quit without a running node must fail")
	}
}

func TestWritePid(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "kong")
	if err := WritePid(prefix); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(PidFile(prefix))
	if err != nil || string(raw) != strconv.Itoa(os.Getpid())+"\n" {
		t.Fatalf("pid file = %q, %v", raw, err)
	}
}

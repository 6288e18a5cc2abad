package kongstandin

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PidFile is where Kong keeps the nginx master's pid under its prefix; the
// stand-in writes its own pid there so that `kong quit` finds it.
func PidFile(prefix string) string { return filepath.Join(prefix, "pids", "nginx.pid") }

// WritePid records the running stand-in's pid under prefix.
func WritePid(prefix string) error {
	if err := os.MkdirAll(filepath.Dir(PidFile(prefix)), 0o755); err != nil {
		return fmt.Errorf("create pid directory: %w", err)
	}
	return os.WriteFile(PidFile(prefix), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

// Quit is `kong quit [-p prefix] [-w wait] [-t timeout]`, as Kong 3.9's
// quit command behaves: wait, send SIGQUIT (graceful stop: in-flight
// requests finish), and after the timeout send SIGTERM. The prefix defaults
// to KONG_PREFIX, then /usr/local/kong.
func Quit(args []string, logf func(string, ...any)) error {
	fs := flag.NewFlagSet("kong quit", flag.ContinueOnError)
	defPrefix := os.Getenv("KONG_PREFIX")
	if defPrefix == "" {
		defPrefix = "/usr/local/kong"
	}
	prefix := fs.String("prefix", defPrefix, "prefix directory of the running node")
	fs.StringVar(prefix, "p", defPrefix, "prefix directory (short)")
	wait := fs.Int("wait", 0, "seconds to wait before initiating the shutdown")
	fs.IntVar(wait, "w", 0, "wait (short)")
	timeout := fs.Int("timeout", 10, "seconds before a forced stop")
	fs.IntVar(timeout, "t", 10, "timeout (short)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	raw, err := os.ReadFile(PidFile(*prefix))
	if err != nil {
		return fmt.Errorf("Kong is not running in %s: %w", *prefix, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("bad pid file %s", PidFile(*prefix))
	}
	if *wait > 0 {
		logf("Waiting %d seconds before shutdown", *wait)
		time.Sleep(time.Duration(*wait) * time.Second)
	}
	if err := syscall.Kill(pid, syscall.SIGQUIT); err != nil {
		return fmt.Errorf("signal Kong (pid %d): %w", pid, err)
	}
	deadline := time.Now().Add(time.Duration(*timeout) * time.Second)
	for time.Now().Before(deadline) {
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			logf("Kong stopped (gracefully)")
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	logf("Kong stopped (forcefully)")
	return nil
}

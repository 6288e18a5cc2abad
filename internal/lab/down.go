package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/lab/controlplane"
	"github.com/drawbridge-dev/drawbridge/internal/lab/netns"
	"github.com/drawbridge-dev/drawbridge/internal/lab/node"
	"github.com/drawbridge-dev/drawbridge/internal/lab/proc"
)

// ownerFile records the process that runs a lab, with its start time so a
// recycled pid is never mistaken for it.
func ownerFile(dir string) string { return filepath.Join(dir, "lab.pid") }

func startTime(pid int) (string, bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", false
	}
	// The command name (field 2) may contain spaces; fields after it are fixed.
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return "", false
	}
	return fields[19], true // field 22: starttime
}

func recordOwner(dir string) error {
	st, ok := startTime(os.Getpid())
	if !ok {
		return errors.New("read own start time")
	}
	return os.WriteFile(ownerFile(dir), []byte(fmt.Sprintf("%d %s\n", os.Getpid(), st)), 0o644)
}

// stopOwner asks a lab process that still runs (not this one) to tear
// itself down, and waits up to a minute for it.
func stopOwner(ctx context.Context, dir string) {
	raw, err := os.ReadFile(ownerFile(dir))
	if err != nil {
		return
	}
	fields := strings.Fields(string(raw))
	if len(fields) != 2 {
		return
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil || pid == os.Getpid() {
		return
	}
	if st, ok := startTime(pid); !ok || st != fields[1] {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if st, ok := startTime(pid); !ok || st != fields[1] {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// killInNamespaces ends every process that is inside one of the given
// network namespaces: what is left of pods when their lab died.
func killInNamespaces(names []string) {
	inodes := map[uint64]bool{}
	for _, n := range names {
		var st syscall.Stat_t
		if syscall.Stat(netns.NS{Name: n}.Path(), &st) == nil {
			inodes[st.Ino] = true
		}
	}
	if len(inodes) == 0 {
		return
	}
	links, _ := filepath.Glob("/proc/[0-9]*/ns/net")
	for _, l := range links {
		var st syscall.Stat_t
		if syscall.Stat(l, &st) != nil || !inodes[st.Ino] {
			continue
		}
		if pid, err := strconv.Atoi(strings.Split(l, "/")[2]); err == nil && pid != os.Getpid() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// Down removes whatever a lab of this name left behind: a lab process that
// still runs is asked to stop; then recorded control-plane processes,
// processes inside the lab's network namespaces, the namespaces and the
// mount targets the node created. It is what `make lab-down` runs and is
// safe when nothing is left.
func Down(ctx context.Context, name, dir string) error {
	stopOwner(ctx, dir)
	var errs []error
	if err := proc.KillRecorded(ctx, controlplane.PidDir(filepath.Join(dir, "control-plane"))); err != nil {
		errs = append(errs, err)
	}
	prefix := Options{Name: name}.netnsPrefix() + "-"
	names, err := netns.List(prefix)
	if err != nil {
		errs = append(errs, err)
	}
	killInNamespaces(names)
	for _, n := range names {
		if err := netns.Delete(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	node.RemoveCreatedTargets(filepath.Join(dir, "pods"))
	return errors.Join(errs...)
}

// Children lists the live child processes of this process as "pid
// command". While a lab runs, its control-plane processes and pod
// containers are among them (pod-init and nsenter exec their programs).
func Children() []string {
	var out []string
	for _, st := range proc.Stats() {
		if st.PPID == os.Getpid() && st.Alive() {
			out = append(out, strconv.Itoa(st.PID)+" "+st.Command)
		}
	}
	return out
}

// Leftovers lists what the lab name, run by this process from dir, left
// behind after Stop: network namespaces, control-plane pid files, child
// processes, and mounts under dir in this mount namespace. A clean teardown
// leaves nothing.
func Leftovers(name, dir string) ([]string, error) {
	var left []string
	nss, err := netns.List(Options{Name: name}.netnsPrefix() + "-")
	if err != nil {
		return nil, fmt.Errorf("list network namespaces: %w", err)
	}
	for _, ns := range nss {
		left = append(left, "network namespace "+ns)
	}
	pids, _ := filepath.Glob(filepath.Join(dir, "control-plane", "pids", "*.pid"))
	for _, p := range pids {
		left = append(left, "control-plane pid file "+p)
	}
	for _, c := range Children() {
		left = append(left, "process "+c)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		if strings.Contains(line, dir) {
			left = append(left, "mount "+line)
		}
	}
	return left, nil
}

package proc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRestartsAndStops(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "p.log")
	p, err := Start(Spec{Name: "p", Path: "/bin/sh", Args: []string{"-c", "echo run; sleep 0.2; exit 3"}, LogFile: log, Restart: true}, dir)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw, _ := os.ReadFile(log)
		if strings.Count(string(raw), "run") >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not restarted; log:\n%s", raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.Stop(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("Stop returned before the process ended")
	}
	if _, err := os.Stat(filepath.Join(dir, "p.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file left: %v", err)
	}
}

func TestKillRecorded(t *testing.T) {
	dir := t.TempDir()
	p, err := Start(Spec{Name: "sleeper", Path: "/bin/sleep", Args: []string{"60"}, LogFile: filepath.Join(dir, "s.log")}, dir)
	if err != nil {
		t.Fatal(err)
	}
	// What `lab down` does after a crash: only the pid file is known.
	if err := KillRecorded(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("recorded process still runs")
	}
}

func TestOutageStartsAgainAfterTheDowntime(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "o.log")
	// Restart is off, as for etcd: only the outage brings it back.
	p, err := Start(Spec{Name: "o", Path: "/bin/sh", Args: []string{"-c", "echo run; exec sleep 60"}, LogFile: log}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	// The first run must have started before the outage ends it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if raw, _ := os.ReadFile(log); strings.Count(string(raw), "run\n") == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first run did not start")
		}
	}
	firstPid, _ := os.ReadFile(filepath.Join(dir, "o.pid"))
	start := time.Now()
	if err := p.Outage(300*time.Millisecond, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw, _ := os.ReadFile(log)
		if strings.Count(string(raw), "run\n") >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not started again after the outage; log:\n%s", raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if since := time.Since(start); since < 300*time.Millisecond {
		t.Errorf("started again after %s, before the outage ended", since)
	}
	pid, _ := os.ReadFile(filepath.Join(dir, "o.pid"))
	if string(pid) == string(firstPid) || len(pid) == 0 {
		t.Errorf("pid file %q after the outage, %q before", pid, firstPid)
	}
	select {
	case <-p.Done():
		t.Fatal("supervision ended with the outage")
	default:
	}
}

func TestStatsSeesThisProcessAndItsGroup(t *testing.T) {
	for _, s := range Stats() {
		if s.PID == os.Getpid() {
			if s.PPID != os.Getppid() || !s.Alive() || s.Command == "" {
				t.Errorf("this process: %+v (parent %d)", s, os.Getppid())
			}
			return
		}
	}
	t.Fatal("this process is not in Stats")
}

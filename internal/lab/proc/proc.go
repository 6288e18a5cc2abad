// Package proc supervises the lab's long-running processes: each one logs to
// its own file, is restarted with backoff if it dies unexpectedly, and has its
// pid recorded so that `lab down` can end it even after the lab crashed.
package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Spec describes one supervised process.
type Spec struct {
	Name    string
	Path    string
	Args    []string
	Env     []string
	LogFile string
	// Restart says whether an unexpected exit restarts the process.
	Restart bool
	// SysProcAttr is passed through, e.g. to start in new namespaces.
	SysProcAttr *syscall.SysProcAttr
}

// Process is a supervised process.
type Process struct {
	spec    Spec
	pidFile string

	mu       sync.Mutex
	cmd      *exec.Cmd
	stopping bool
	done     chan struct{} // closed when supervision ends
	exitErr  error
	restarts int
	// downUntil, when set, is an outage in progress: the exit it caused
	// is relaunched at that time, whatever spec.Restart says.
	downUntil time.Time
}

// Start launches the process and supervises it until Stop. pidDir receives a
// file named after the process with its current pid.
func Start(spec Spec, pidDir string) (*Process, error) {
	if err := os.MkdirAll(pidDir, 0o755); err != nil {
		return nil, fmt.Errorf("create pid directory: %w", err)
	}
	p := &Process{spec: spec, pidFile: filepath.Join(pidDir, spec.Name+".pid"), done: make(chan struct{})}
	cmd, err := p.launch()
	if err != nil {
		return nil, err
	}
	go p.supervise(cmd)
	return p, nil
}

func (p *Process) launch() (*exec.Cmd, error) {
	log, err := os.OpenFile(p.spec.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log of %s: %w", p.spec.Name, err)
	}
	defer log.Close()
	cmd := exec.Command(p.spec.Path, p.spec.Args...)
	cmd.Env = p.spec.Env
	cmd.Stdout, cmd.Stderr = log, log
	attr := &syscall.SysProcAttr{}
	if p.spec.SysProcAttr != nil {
		copied := *p.spec.SysProcAttr
		attr = &copied
	}
	// Its own process group, so Ctrl-C on the terminal reaches only the lab,
	// which then stops children in order.
	attr.Setpgid = true
	// A lab killed outright takes its control plane with it; `lab down`
	// still handles whatever survives.
	attr.Pdeathsig = syscall.SIGTERM
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.spec.Name, err)
	}
	if err := os.WriteFile(p.pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("record pid of %s: %w", p.spec.Name, err)
	}
	p.mu.Lock()
	p.cmd = cmd
	p.mu.Unlock()
	return cmd, nil
}

func (p *Process) supervise(cmd *exec.Cmd) {
	defer close(p.done)
	backoff := time.Second
	for {
		err := cmd.Wait()
		p.mu.Lock()
		stopping, downUntil := p.stopping, p.downUntil
		p.downUntil = time.Time{}
		p.mu.Unlock()
		if !stopping && !downUntil.IsZero() {
			appendLog(p.spec.LogFile, fmt.Sprintf("lab: %s stopped for an outage (%v); starting again at %s\n", p.spec.Name, err, downUntil.Format(time.TimeOnly)))
			time.Sleep(time.Until(downUntil))
			p.mu.Lock()
			stopping = p.stopping
			p.mu.Unlock()
			if stopping {
				p.exitErr = err
				_ = os.Remove(p.pidFile)
				return
			}
			next, lerr := p.launch()
			if lerr != nil {
				p.exitErr = lerr
				_ = os.Remove(p.pidFile)
				return
			}
			cmd, backoff = next, time.Second
			continue
		}
		if stopping || !p.spec.Restart {
			p.exitErr = err
			_ = os.Remove(p.pidFile)
			return
		}
		appendLog(p.spec.LogFile, fmt.Sprintf("lab: %s exited (%v); restarting in %s\n", p.spec.Name, err, backoff))
		time.Sleep(backoff)
		backoff = min(2*backoff, 30*time.Second)
		p.mu.Lock()
		if p.stopping {
			p.mu.Unlock()
			_ = os.Remove(p.pidFile)
			return
		}
		p.restarts++
		p.mu.Unlock()
		next, lerr := p.launch()
		if lerr != nil {
			p.exitErr = lerr
			_ = os.Remove(p.pidFile)
			return
		}
		cmd = next
	}
}

func appendLog(path, line string) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteString(line)
}

// Done is closed when the process has exited for good.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the last exit error once Done is closed.
func (p *Process) Err() error { return p.exitErr }

// Name is the process name.
func (p *Process) Name() string { return p.spec.Name }

// Outage stops the process the way an administrator or a crash would
// (SIGTERM to its group, SIGKILL after grace) and starts it again once
// down has passed since the call. It returns when the process has exited;
// the restart happens in the background.
func (p *Process) Outage(down, grace time.Duration) error {
	p.mu.Lock()
	if p.stopping || p.cmd == nil || p.cmd.Process == nil {
		p.mu.Unlock()
		return fmt.Errorf("%s is not running", p.spec.Name)
	}
	cmd := p.cmd
	p.downUntil = time.Now().Add(down)
	p.mu.Unlock()
	exited := make(chan struct{})
	go func() {
		// The supervisor's Wait reaps the process; a signal 0 probe tells
		// when it is gone.
		defer close(exited)
		for syscall.Kill(cmd.Process.Pid, 0) == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exited:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-exited:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("%s did not exit after SIGKILL", p.spec.Name)
	}
}

// Stop sends SIGTERM, waits up to grace, then kills the process group.
func (p *Process) Stop(grace time.Duration) error {
	p.mu.Lock()
	p.stopping = true
	cmd := p.cmd
	p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	default:
	}
	if cmd != nil && cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	if cmd != nil && cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("%s did not exit after SIGKILL", p.spec.Name)
	}
}

// KillRecorded ends every process whose pid file is in pidDir: what a
// crashed lab left behind. It kills the whole process group of each.
func KillRecorded(ctx context.Context, pidDir string) error {
	files, err := filepath.Glob(filepath.Join(pidDir, "*.pid"))
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(string(raw))
		if err != nil || pid <= 1 {
			_ = os.Remove(f)
			continue
		}
		if err := killGroup(ctx, pid); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", filepath.Base(f), err))
			continue
		}
		_ = os.Remove(f)
	}
	return errors.Join(errs...)
}

func killGroup(ctx context.Context, pid int) error {
	if syscall.Kill(pid, 0) != nil {
		return nil // already gone
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return nil
}

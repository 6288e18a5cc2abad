package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// container is one container of a pod and its history: the process that
// runs it now, the state of the last run and the restart count.
type container struct {
	spec    corev1.Container
	init    bool
	program string // "" when the image has no program

	mu       sync.Mutex
	cmd      *exec.Cmd
	pid      int
	runID    int
	state    corev1.ContainerState
	last     corev1.ContainerState
	restarts int32
	ready    bool
	started  bool // startup probe passed (or none)
	exited   chan struct{}
	// env and id of the current run: exec probes and hooks get the same,
	// as a container runtime's exec does.
	env []string
	id  identity
}

func (c *container) snapshot() corev1.ContainerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := corev1.ContainerStatus{
		Name:                 c.spec.Name,
		Image:                c.spec.Image,
		ImageID:              "lab://" + c.program,
		State:                c.state,
		LastTerminationState: c.last,
		Ready:                c.ready,
		RestartCount:         c.restarts,
	}
	started := c.started && c.state.Running != nil
	st.Started = &started
	if c.runID > 0 {
		st.ContainerID = fmt.Sprintf("lab://%s-%d", c.spec.Name, c.runID)
	}
	return st
}

func (c *container) running() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pid, c.state.Running != nil
}

// logPath is the file the current run of the container writes to.
func logPath(podDir, name string, run int) string {
	return filepath.Join(podDir, "logs", name, strconv.Itoa(run)+".log")
}

// start launches one run of the container through the lab's pod-init, which
// enters the pod's namespaces and bind-mounts the volumes.
func (c *container) start(r *podRuntime, env []string, mounts []mountSpec, id identity) error {
	argv := append([]string{}, c.spec.Command...)
	if len(argv) > 0 {
		// The image's entrypoint is the program; a command names it (or a
		// wrapper the lab does not have), so only its arguments carry over.
		argv = argv[1:]
	}
	argv = append(argv, c.spec.Args...)
	vars := map[string]string{}
	for _, kv := range env {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				vars[kv[:i]] = kv[i+1:]
				break
			}
		}
	}
	for i := range argv {
		argv[i] = expand(argv[i], vars)
	}
	initArgs := []string{InitCommand, "--netns", r.ns.Path(), "--hostname", truncate(r.pod().Name, 63)}
	if c.spec.WorkingDir != "" {
		initArgs = append(initArgs, "--workdir", c.spec.WorkingDir)
	}
	for _, m := range mounts {
		initArgs = append(initArgs, "--mount", m.String())
	}
	initArgs = append(initArgs, id.flags()...)
	if sc := c.spec.SecurityContext; sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		initArgs = append(initArgs, "--read-only-root")
	}
	initArgs = append(initArgs, "--", c.program)
	initArgs = append(initArgs, argv...)

	c.mu.Lock()
	run := c.runID + 1
	c.mu.Unlock()
	path := logPath(r.dir, c.spec.Name, run)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	log, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("container log: %w", err)
	}
	defer log.Close()
	// Programs may reopen /dev/stdout, which needs the file to be theirs.
	if err := log.Chown(int(id.uid), int(id.gid)); err != nil {
		return fmt.Errorf("container log: %w", err)
	}
	cmd := exec.Command(r.n.opts.InitBinary, initArgs...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS,
		Setpgid:    true,
		// A lab killed outright takes its containers with it.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", c.program, err)
	}
	exited := make(chan struct{})
	c.mu.Lock()
	c.cmd, c.pid, c.runID, c.exited = cmd, cmd.Process.Pid, run, exited
	c.env, c.id = env, id
	c.state = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}
	c.ready = false
	c.started = c.spec.StartupProbe == nil
	c.mu.Unlock()
	return nil
}

// wait blocks until the current run ends and records its termination.
func (c *container) wait() corev1.ContainerStateTerminated {
	c.mu.Lock()
	cmd, exited, run := c.cmd, c.exited, c.runID
	startedAt := metav1.Now()
	if c.state.Running != nil {
		startedAt = c.state.Running.StartedAt
	}
	c.mu.Unlock()
	err := cmd.Wait()
	term := corev1.ContainerStateTerminated{StartedAt: startedAt, FinishedAt: metav1.Now(), ContainerID: fmt.Sprintf("lab://%s-%d", c.spec.Name, run)}
	if st, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case st.Signaled():
			term.ExitCode = 128 + int32(st.Signal())
			term.Signal = int32(st.Signal())
			term.Reason = "Error"
		default:
			term.ExitCode = int32(st.ExitStatus())
		}
	} else if err != nil {
		term.ExitCode = 128
		term.Message = err.Error()
	}
	if term.Reason == "" {
		term.Reason = "Completed"
		if term.ExitCode != 0 {
			term.Reason = "Error"
		}
	}
	c.mu.Lock()
	c.state = corev1.ContainerState{Terminated: &term}
	c.last = corev1.ContainerState{Terminated: term.DeepCopy()}
	c.pid, c.ready, c.started = 0, false, false
	c.mu.Unlock()
	close(exited)
	return term
}

// stop asks the current run to end: SIGTERM to its process group, then
// SIGKILL after grace.
func (c *container) stop(grace time.Duration) {
	c.mu.Lock()
	cmd, exited := c.cmd, c.exited
	running := c.state.Running != nil
	c.mu.Unlock()
	if cmd == nil || cmd.Process == nil || !running {
		return
	}
	pid := cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-exited:
		return
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
	}
}

func (c *container) setWaiting(reason, message string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
	c.ready = false
}

func (c *container) setReady(ready bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.Running == nil {
		ready = false
	}
	changed := c.ready != ready
	c.ready = ready
	return changed
}

func (c *container) setStarted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := !c.started
	c.started = true
	return changed
}

// probeLoop runs one kind of probe for the current run until ctx ends.
// onResult gets each result once the thresholds are crossed.
// eager probes every second until the first success: readiness of a fresh
// replica then follows its configuration within a second, not a period.
func probeLoop(ctx context.Context, r *podRuntime, c *container, p *corev1.Probe, eager bool, onResult func(ok bool, err error)) {
	if p == nil {
		return
	}
	period := time.Duration(max(p.PeriodSeconds, 1)) * time.Second
	success, failure := max(p.SuccessThreshold, 1), max(p.FailureThreshold, 1)
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Duration(p.InitialDelaySeconds) * time.Second):
	}
	var okRun, failRun int32
	everOK := false
	tick := time.NewTimer(0)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := probeOnce(ctx, r.n.opts.Dial, p, c, r.ipString(), r.n.opts.Programs)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			okRun, failRun, everOK = okRun+1, 0, true
			if okRun >= success {
				onResult(true, nil)
			}
		} else {
			failRun, okRun = failRun+1, 0
			if failRun >= failure {
				onResult(false, err)
			}
		}
		next := period
		if eager && !everOK {
			next = min(period, time.Second)
		}
		tick.Reset(next)
	}
}

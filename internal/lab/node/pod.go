package node

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/drawbridge-dev/drawbridge/internal/lab/netns"
)

// podRuntime runs one pod bound to the node: its network namespace and
// address, its volumes, its containers as processes, their probes, and the
// status the node reports for it.
type podRuntime struct {
	n   *Node
	dir string

	mu sync.Mutex
	// startMu orders container starts against termination: a container
	// never starts once terminate has begun stopping them.
	startMu     sync.Mutex
	latest      *corev1.Pod
	ip          netip.Addr
	ns          netns.NS
	netReady    bool
	vols        *volumes
	initDone    bool
	containers  []*container
	inits       []*container
	startTime   metav1.Time
	terminating bool
	podMessage  string
	podReason   string

	ctx    context.Context
	cancel context.CancelFunc
	dirty  chan struct{}
	done   chan struct{}
}

func newPodRuntime(n *Node, pod *corev1.Pod) *podRuntime {
	ctx, cancel := context.WithCancel(n.ctx)
	r := &podRuntime{
		n:         n,
		dir:       filepath.Join(n.opts.Dir, fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID)),
		latest:    pod.DeepCopy(),
		startTime: metav1.Now(),
		ctx:       ctx, cancel: cancel,
		dirty: make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	for _, c := range pod.Spec.InitContainers {
		r.inits = append(r.inits, &container{spec: c, init: true})
	}
	for _, c := range pod.Spec.Containers {
		r.containers = append(r.containers, &container{spec: c})
	}
	for _, c := range append(append([]*container{}, r.inits...), r.containers...) {
		c.setWaiting("ContainerCreating", "")
	}
	return r
}

func (r *podRuntime) pod() *corev1.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.latest
}

func (r *podRuntime) update(pod *corev1.Pod) {
	r.mu.Lock()
	r.latest = pod.DeepCopy()
	r.mu.Unlock()
}

func (r *podRuntime) ipString() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ip.IsValid() {
		return ""
	}
	return r.ip.String()
}

func (r *podRuntime) markDirty() {
	select {
	case r.dirty <- struct{}{}:
	default:
	}
}

func (r *podRuntime) logf(format string, args ...any) {
	p := r.pod()
	r.n.opts.Log("pod %s/%s: "+format, append([]any{p.Namespace, p.Name}, args...)...)
}

// run sets the pod up and starts its containers; it returns once the
// containers are started, their loops keep running on their own.
func (r *podRuntime) run() {
	go r.statusWriter()
	r.markDirty()
	if err := r.setupNetwork(); err != nil {
		r.fail("NetworkSetupFailed", err)
		return
	}
	r.markDirty()
	pod := r.pod()
	r.vols = newVolumes(r.n.opts.Client, pod, filepath.Join(r.dir, "volumes"))
	for {
		err := r.vols.sync(r.ctx)
		if err == nil {
			break
		}
		r.setMessage("FailedMount", err.Error())
		r.n.event(pod, corev1.EventTypeWarning, "FailedMount", err.Error())
		select {
		case <-r.ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
	r.setMessage("", "")
	go r.refreshVolumes()

	for _, c := range r.inits {
		if !r.runInit(c) {
			return
		}
	}
	r.mu.Lock()
	r.initDone = true
	r.mu.Unlock()
	r.markDirty()
	for _, c := range r.containers {
		go r.containerLoop(c)
	}
}

func (r *podRuntime) setMessage(reason, msg string) {
	r.mu.Lock()
	r.podReason, r.podMessage = reason, msg
	r.mu.Unlock()
	r.markDirty()
}

func (r *podRuntime) fail(reason string, err error) {
	r.logf("%s: %v", reason, err)
	r.n.event(r.pod(), corev1.EventTypeWarning, reason, err.Error())
	r.setMessage(reason, err.Error())
}

func (r *podRuntime) refreshVolumes() {
	t := time.NewTicker(20 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
			if err := r.vols.sync(r.ctx); err != nil && r.ctx.Err() == nil {
				r.logf("refresh volumes: %v", err)
			}
		}
	}
}

// setupNetwork gives the pod its own network namespace, joined to the node
// bridge by a veth pair, with one address from the pod CIDR.
func (r *podRuntime) setupNetwork() error {
	ip, err := r.n.ipam.allocate()
	if err != nil {
		return err
	}
	idx := r.n.ipam.index(ip)
	name := fmt.Sprintf("%s-p%d", r.n.opts.NetnsPrefix, idx)
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	ns, err := netns.Create(ctx, name)
	if err != nil {
		r.n.ipam.release(ip)
		return err
	}
	r.mu.Lock()
	r.ip, r.ns = ip, ns
	r.mu.Unlock()
	hostEnd := fmt.Sprintf("vp%d", idx)
	node := r.n.opts.NodeNS
	_ = node.IP(ctx, "link", "del", hostEnd) // a leftover of a pod that had this address
	steps := [][]string{
		{"-n", node.Name, "link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "address", mac(ip), "netns", ns.Name},
		{"-n", node.Name, "link", "set", hostEnd, "master", r.n.opts.Bridge, "up"},
		{"-n", ns.Name, "addr", "add", fmt.Sprintf("%s/%d", ip, r.n.ipam.prefix.Bits()), "dev", "eth0"},
		{"-n", ns.Name, "link", "set", "eth0", "up"},
		{"-n", ns.Name, "route", "add", "default", "via", r.n.ipam.gateway().String()},
	}
	for _, s := range steps {
		if err := netns.Run(ctx, s...); err != nil {
			return err
		}
	}
	// The pod's ingress NetworkPolicy rules are in place before any of
	// its containers can listen.
	if err := r.n.netpol.Attach(ctx, r.pod(), ns, ip); err != nil {
		return err
	}
	r.mu.Lock()
	r.netReady = true
	r.mu.Unlock()
	r.logf("network ready: %s in %s (veth %s)", ip, ns.Name, hostEnd)
	return nil
}

func (r *podRuntime) teardownNetwork() {
	r.mu.Lock()
	ip, ns, had := r.ip, r.ns, r.ip.IsValid()
	r.mu.Unlock()
	if !had {
		return
	}
	r.n.netpol.Detach(r.pod().UID)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := netns.Delete(ctx, ns.Name); err != nil {
		r.logf("delete network namespace: %v", err)
	}
	r.n.ipam.release(ip)
}

// mounts prepares the bind mounts of a container: every target must exist
// on the host before pod-init can bind over it, so missing targets are
// created and remembered for removal when the lab stops.
func (r *podRuntime) mounts(c *container) ([]mountSpec, error) {
	var out []mountSpec
	for _, m := range c.spec.VolumeMounts {
		src, err := r.vols.source(m)
		if err != nil {
			return nil, err
		}
		info, err := os.Stat(src)
		if err != nil {
			return nil, fmt.Errorf("volume mount %s: %w", m.Name, err)
		}
		if err := r.n.ensureTarget(m.MountPath, info.IsDir()); err != nil {
			return nil, fmt.Errorf("volume mount %s at %s: %w", m.Name, m.MountPath, err)
		}
		out = append(out, mountSpec{source: src, target: m.MountPath, readOnly: m.ReadOnly})
	}
	files := r.n.opts.Programs.ImageFiles(c.spec.Image)
	targets := make([]string, 0, len(files))
	for target := range files {
		targets = append(targets, target)
	}
	sort.Strings(targets)
	for _, target := range targets {
		if err := r.n.ensureTarget(target, false); err != nil {
			return nil, fmt.Errorf("image file %s: %w", target, err)
		}
		out = append(out, mountSpec{source: files[target], target: target, readOnly: true})
	}
	return out, nil
}

// prepare resolves the image, environment and mounts of a container; a
// failure leaves the container waiting with the reason the kubelet uses.
func (r *podRuntime) prepare(c *container) ([]string, []mountSpec, identity, bool) {
	program, err := r.n.opts.Programs.Resolve(c.spec.Image)
	if err != nil {
		c.setWaiting("ErrImagePull", err.Error())
		r.markDirty()
		r.n.event(r.pod(), corev1.EventTypeWarning, "Failed", fmt.Sprintf("Failed to pull image %q: %v", c.spec.Image, err))
		return nil, nil, identity{}, false
	}
	c.mu.Lock()
	c.program = program
	c.mu.Unlock()
	pod := r.pod()
	id, err := containerIdentity(pod, &c.spec)
	if err == nil {
		var env []string
		if env, err = containerEnv(r.ctx, r.n.opts.Client, r.withIPs(pod), &c.spec, r.n.baseEnv(pod)); err == nil {
			var mounts []mountSpec
			if mounts, err = r.mounts(c); err == nil {
				return env, mounts, id, true
			}
		}
	}
	c.setWaiting("CreateContainerConfigError", err.Error())
	r.markDirty()
	r.n.event(pod, corev1.EventTypeWarning, "Failed", fmt.Sprintf("Error: %v", err))
	return nil, nil, identity{}, false
}

// withIPs is the pod as the downward API sees it once it has an address.
func (r *podRuntime) withIPs(pod *corev1.Pod) *corev1.Pod {
	p := pod.DeepCopy()
	p.Status.PodIP = r.ipString()
	p.Status.HostIP = r.n.opts.NodeIP
	return p
}

// backoff is the restart delay after n consecutive crashes. The kubelet
// starts at 10s and caps at 5 minutes; the lab is for fast feedback, so it
// starts at 1s and caps at 20s.
func backoff(n int) time.Duration {
	d := time.Second << min(n, 5)
	return min(d, 20*time.Second)
}

func (r *podRuntime) waitOrDone(d time.Duration) bool {
	select {
	case <-r.ctx.Done():
		return false
	case <-time.After(d):
		return !r.isTerminating()
	}
}

func (r *podRuntime) isTerminating() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.terminating
}

// runInit runs an init container to completion, retrying per restartPolicy.
func (r *podRuntime) runInit(c *container) bool {
	for attempt := 0; ; attempt++ {
		env, mounts, id, ok := r.prepare(c)
		if ok {
			if err := r.start(c, env, mounts, id); errors.Is(err, errTerminating) {
				return false
			} else if err != nil {
				c.setWaiting("RunContainerError", err.Error())
			} else {
				r.markDirty()
				term := c.wait()
				r.markDirty()
				if term.ExitCode == 0 {
					return true
				}
				if r.pod().Spec.RestartPolicy == corev1.RestartPolicyNever {
					return false
				}
				c.mu.Lock()
				c.restarts++
				c.mu.Unlock()
			}
		}
		if !r.waitOrDone(backoff(attempt)) {
			return false
		}
	}
}

// errTerminating refuses a container start during termination.
var errTerminating = errors.New("pod is terminating")

// start launches a container run unless the pod is terminating.
func (r *podRuntime) start(c *container, env []string, mounts []mountSpec, id identity) error {
	r.startMu.Lock()
	defer r.startMu.Unlock()
	if r.isTerminating() {
		return errTerminating
	}
	return c.start(r, env, mounts, id)
}

// containerLoop runs a container, its probes and its restarts.
func (r *podRuntime) containerLoop(c *container) {
	crashes := 0
	for {
		env, mounts, id, ok := r.prepare(c)
		if !ok {
			if !r.waitOrDone(backoff(crashes)) {
				return
			}
			crashes++
			if c.snapshot().State.Waiting != nil && c.snapshot().State.Waiting.Reason == "ErrImagePull" {
				c.setWaiting("ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q", c.spec.Image))
				r.markDirty()
			}
			continue
		}
		err := r.start(c, env, mounts, id)
		if errors.Is(err, errTerminating) {
			return
		}
		if err != nil {
			c.setWaiting("RunContainerError", err.Error())
			r.markDirty()
			if !r.waitOrDone(backoff(crashes)) {
				return
			}
			crashes++
			continue
		}
		r.markDirty()
		started := time.Now()
		runCtx, stopProbes := context.WithCancel(r.ctx)
		r.startProbes(runCtx, c)
		term := c.wait()
		stopProbes()
		r.markDirty()
		if r.isTerminating() || r.ctx.Err() != nil {
			return
		}
		r.logf("container %s exited with %d (%s)", c.spec.Name, term.ExitCode, term.Reason)
		policy := r.pod().Spec.RestartPolicy
		if policy == corev1.RestartPolicyNever || (policy == corev1.RestartPolicyOnFailure && term.ExitCode == 0) {
			return
		}
		if time.Since(started) > time.Minute {
			crashes = 0
		}
		c.mu.Lock()
		c.restarts++
		c.mu.Unlock()
		c.setWaiting("CrashLoopBackOff", fmt.Sprintf("back-off %s restarting failed container %s", backoff(crashes), c.spec.Name))
		c.mu.Lock()
		c.last = corev1.ContainerState{Terminated: term.DeepCopy()}
		c.mu.Unlock()
		r.markDirty()
		if !r.waitOrDone(backoff(crashes)) {
			return
		}
		crashes++
	}
}

// startProbes runs the startup, readiness and liveness probes of one run.
func (r *podRuntime) startProbes(ctx context.Context, c *container) {
	startup := make(chan struct{})
	if c.spec.StartupProbe == nil {
		close(startup)
	} else {
		go func() {
			var once sync.Once
			probeLoop(ctx, r, c, c.spec.StartupProbe, true, func(ok bool, err error) {
				if ok {
					once.Do(func() {
						c.setStarted()
						r.markDirty()
						close(startup)
					})
				} else {
					r.n.event(r.pod(), corev1.EventTypeWarning, "Unhealthy", fmt.Sprintf("Startup probe failed: %v; restarting container %s", err, c.spec.Name))
					go c.stop(r.grace())
				}
			})
		}()
	}
	go func() {
		select {
		case <-ctx.Done():
			return
		case <-startup:
		}
		if c.spec.ReadinessProbe == nil {
			if c.setReady(true) {
				r.markDirty()
			}
			return
		}
		probeLoop(ctx, r, c, c.spec.ReadinessProbe, true, func(ok bool, err error) {
			if r.isTerminating() {
				ok = false
			}
			if c.setReady(ok) {
				r.markDirty()
				if !ok && err != nil {
					r.n.event(r.pod(), corev1.EventTypeWarning, "Unhealthy", fmt.Sprintf("Readiness probe failed: %v", err))
				}
			}
		})
	}()
	if c.spec.LivenessProbe != nil {
		go func() {
			select {
			case <-ctx.Done():
				return
			case <-startup:
			}
			probeLoop(ctx, r, c, c.spec.LivenessProbe, false, func(ok bool, err error) {
				if !ok {
					r.n.event(r.pod(), corev1.EventTypeWarning, "Unhealthy", fmt.Sprintf("Liveness probe failed: %v; restarting container %s", err, c.spec.Name))
					go c.stop(r.grace())
				}
			})
		}()
	}
}

func (r *podRuntime) grace() time.Duration {
	p := r.pod()
	if p.DeletionGracePeriodSeconds != nil {
		return time.Duration(*p.DeletionGracePeriodSeconds) * time.Second
	}
	return time.Duration(ptr.Deref(p.Spec.TerminationGracePeriodSeconds, 30)) * time.Second
}

// terminate stops the pod gracefully: containers turn unready at once, each
// runs its preStop hook, gets SIGTERM, and SIGKILL when the grace period
// ends. Then the network and volumes go.
func (r *podRuntime) terminate(grace time.Duration) {
	r.startMu.Lock()
	r.mu.Lock()
	if r.terminating {
		r.mu.Unlock()
		r.startMu.Unlock()
		<-r.done
		return
	}
	r.terminating = true
	r.mu.Unlock()
	r.startMu.Unlock()
	for _, c := range r.containers {
		c.setReady(false)
	}
	r.markDirty()
	deadline := time.Now().Add(grace)
	var wg sync.WaitGroup
	for _, c := range append(append([]*container{}, r.inits...), r.containers...) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.preStop(c, deadline)
			c.stop(max(time.Until(deadline), 0))
		}()
	}
	wg.Wait()
	r.cancel()
	r.logf("containers stopped; removing network %s", r.ipString())
	r.teardownNetwork()
	if err := os.RemoveAll(filepath.Join(r.dir, "volumes")); err != nil {
		r.logf("remove volumes: %v", err)
	}
	close(r.done)
}

func (r *podRuntime) preStop(c *container, deadline time.Time) {
	hook := c.spec.Lifecycle
	_, running := c.running()
	if hook == nil || hook.PreStop == nil || !running || time.Until(deadline) <= 0 {
		return
	}
	ctx, cancel := context.WithDeadline(r.ctx, deadline)
	defer cancel()
	var err error
	switch h := hook.PreStop; {
	case h.Exec != nil:
		err = execIn(ctx, c, h.Exec.Command, r.n.opts.Programs)
	case h.HTTPGet != nil:
		err = probeOnce(ctx, r.n.opts.Dial, &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: h.HTTPGet}, TimeoutSeconds: int32(max(time.Until(deadline)/time.Second, 1))}, c, r.ipString(), r.n.opts.Programs)
	case h.Sleep != nil:
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(h.Sleep.Seconds) * time.Second):
		}
	}
	if err != nil && ctx.Err() == nil {
		msg := fmt.Sprintf("PreStopHook failed: %v", err)
		r.n.event(r.pod(), corev1.EventTypeWarning, "FailedPreStopHook", msg)
	}
}

// phase derives the pod phase from its containers, as the kubelet does.
func (r *podRuntime) phase() corev1.PodPhase {
	r.mu.Lock()
	initDone := r.initDone
	r.mu.Unlock()
	if !initDone {
		return corev1.PodPending
	}
	var running, succeeded, failed, waitingFirst int
	for _, c := range r.containers {
		s := c.snapshot()
		switch {
		case s.State.Running != nil:
			running++
		case s.State.Terminated != nil && s.State.Terminated.ExitCode == 0:
			succeeded++
		case s.State.Terminated != nil:
			failed++
		case s.State.Waiting != nil && s.LastTerminationState.Terminated == nil:
			waitingFirst++
		default:
			running++ // restarting after a crash still counts as running
		}
	}
	switch {
	case waitingFirst > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case failed > 0:
		return corev1.PodFailed
	case succeeded == len(r.containers):
		return corev1.PodSucceeded
	}
	return corev1.PodPending
}

func (r *podRuntime) status(pod *corev1.Pod) corev1.PodStatus {
	st := corev1.PodStatus{
		Phase:     r.phase(),
		HostIP:    r.n.opts.NodeIP,
		HostIPs:   []corev1.HostIP{{IP: r.n.opts.NodeIP}},
		StartTime: &r.startTime,
		QOSClass:  pod.Status.QOSClass,
	}
	r.mu.Lock()
	st.Reason, st.Message = r.podReason, r.podMessage
	initDone, netReady := r.initDone, r.netReady
	if r.ip.IsValid() {
		st.PodIP = r.ip.String()
		st.PodIPs = []corev1.PodIP{{IP: st.PodIP}}
	}
	terminating := r.terminating
	r.mu.Unlock()
	allReady := len(r.containers) > 0
	for _, c := range r.inits {
		st.InitContainerStatuses = append(st.InitContainerStatuses, c.snapshot())
	}
	for _, c := range r.containers {
		s := c.snapshot()
		if terminating {
			s.Ready = false
		}
		allReady = allReady && s.Ready
		st.ContainerStatuses = append(st.ContainerStatuses, s)
	}
	now := metav1.Now()
	cond := func(t corev1.PodConditionType, ok bool, reason string) {
		status := corev1.ConditionFalse
		if ok {
			status, reason = corev1.ConditionTrue, ""
		}
		transition := now
		for _, old := range pod.Status.Conditions {
			if old.Type == t && old.Status == status {
				transition = old.LastTransitionTime
			}
		}
		st.Conditions = append(st.Conditions, corev1.PodCondition{Type: t, Status: status, Reason: reason, LastTransitionTime: transition})
	}
	cond(corev1.PodReadyToStartContainers, netReady, "")
	cond(corev1.PodInitialized, initDone, "ContainersNotInitialized")
	cond(corev1.ContainersReady, allReady, "ContainersNotReady")
	cond(corev1.PodReady, allReady, "ContainersNotReady")
	cond(corev1.PodScheduled, true, "")
	return st
}

// statusWriter writes the pod status whenever it changed, at most every
// 100ms, until the pod is gone.
func (r *podRuntime) statusWriter() {
	for {
		select {
		case <-r.done:
			return
		case <-r.n.ctx.Done():
			return
		case <-r.dirty:
		}
		time.Sleep(100 * time.Millisecond)
		if err := r.writeStatus(); err != nil && r.n.ctx.Err() == nil && !apierrors.IsNotFound(err) {
			r.logf("write status: %v", err)
			time.Sleep(500 * time.Millisecond)
			r.markDirty()
		}
	}
}

func (r *podRuntime) writeStatus() error {
	if r.n.isStopping() {
		return nil
	}
	pod := r.pod()
	want := r.status(pod)
	if equalStatus(pod.Status, want) {
		return nil
	}
	for attempt := 0; attempt < 5; attempt++ {
		next := pod.DeepCopy()
		next.Status = want
		updated, err := r.n.opts.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(r.n.ctx, next, metav1.UpdateOptions{})
		if err == nil {
			r.update(updated)
			return nil
		}
		if !apierrors.IsConflict(err) {
			return err
		}
		fresh, gerr := r.n.opts.Client.CoreV1().Pods(pod.Namespace).Get(r.n.ctx, pod.Name, metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		if fresh.UID != pod.UID {
			return apierrors.NewNotFound(corev1.Resource("pods"), pod.Name)
		}
		r.update(fresh)
		pod = fresh
		want = r.status(pod)
	}
	return errors.New("status update kept conflicting")
}

// equalStatus compares what the node writes, ignoring timestamps that the
// apiserver round-trips at second precision.
func equalStatus(a, b corev1.PodStatus) bool {
	key := func(s corev1.PodStatus) string {
		var sb strings.Builder
		fmt.Fprintf(&sb, "%s|%s|%s|%s|", s.Phase, s.PodIP, s.Reason, s.Message)
		for _, c := range s.Conditions {
			fmt.Fprintf(&sb, "%s=%s,", c.Type, c.Status)
		}
		for _, c := range append(append([]corev1.ContainerStatus{}, s.InitContainerStatuses...), s.ContainerStatuses...) {
			waiting := ""
			if c.State.Waiting != nil {
				waiting = c.State.Waiting.Reason + c.State.Waiting.Message
			}
			fmt.Fprintf(&sb, "%s:%v:%d:%s:%v:%s:%v:%v|", c.Name, c.Ready, c.RestartCount, c.ContainerID, c.State.Running != nil, waiting, c.State.Terminated != nil, c.LastTerminationState.Terminated != nil)
		}
		return sb.String()
	}
	return key(a) == key(b)
}

package node

import (
	"fmt"
	"syscall"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/lab/proc"
)

// Faults a test can inflict on running pods, the way a node sees them go
// wrong: a container crashing (the process group killed outright, as the
// OOM killer would). PodNetwork gives the pod's network namespace, where a
// test can cut the pod off from a peer.

// runtimeOf finds the running pod namespace/name.
func (n *Node) runtimeOf(namespace, name string) (*podRuntime, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range n.pods {
		p := r.pod()
		if p.Namespace == namespace && p.Name == name {
			return r, nil
		}
	}
	return nil, fmt.Errorf("pod %s/%s does not run on this node", namespace, name)
}

// KillContainer sends SIGKILL to the process group of a running container
// of pod namespace/name and returns once none of its processes is alive
// (at most 5 s): until then a dying process can still complete handshakes
// on its listening sockets. The node handles the exit as any crash: the
// container is not Ready and restarts per the pod's restartPolicy.
func (n *Node) KillContainer(namespace, name, container string) error {
	r, err := n.runtimeOf(namespace, name)
	if err != nil {
		return err
	}
	for _, c := range r.containers {
		if c.spec.Name != container {
			continue
		}
		pid, running := c.running()
		if !running || pid == 0 {
			return fmt.Errorf("container %s of pod %s/%s is not running", container, namespace, name)
		}
		if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("kill container %s of pod %s/%s: %w", container, namespace, name, err)
		}
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if !groupAlive(pid) {
				return nil
			}
		}
		return fmt.Errorf("container %s of pod %s/%s still has processes 5 s after SIGKILL", container, namespace, name)
	}
	return fmt.Errorf("pod %s/%s has no container %s", namespace, name, container)
}

// groupAlive reports whether a process of process group pgid is alive
// (zombies, already dead, do not count).
func groupAlive(pgid int) bool {
	for _, st := range proc.Stats() {
		if st.PGRP == pgid && st.Alive() {
			return true
		}
	}
	return false
}

package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
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
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(raw)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		// After the command: state, ppid, pgrp, ...
		fields := strings.Fields(s[i+1:])
		if len(fields) > 2 && fields[2] == strconv.Itoa(pgid) && fields[0] != "Z" && fields[0] != "X" {
			return true
		}
	}
	return false
}

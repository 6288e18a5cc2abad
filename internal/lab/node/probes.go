package node

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// dialFunc dials from inside the lab's node namespace, where pod addresses
// are routable; the host namespace never sends traffic to them.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// resolvePort turns a probe's named or numeric port into a number.
func resolvePort(port intstr.IntOrString, c *corev1.Container) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("container %s has no port named %q", c.Name, port.StrVal)
}

// probeOnce runs one probe against a container of a pod at podIP; exec
// probes enter the namespaces of the container's process.
func probeOnce(ctx context.Context, dial dialFunc, p *corev1.Probe, ctr *container, podIP string, programs Programs) error {
	c := &ctr.spec
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case p.HTTPGet != nil:
		port, err := resolvePort(p.HTTPGet.Port, c)
		if err != nil {
			return err
		}
		host := podIP
		if p.HTTPGet.Host != "" {
			host = p.HTTPGet.Host
		}
		scheme := "http"
		if p.HTTPGet.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort(host, strconv.Itoa(port))+p.HTTPGet.Path, nil)
		if err != nil {
			return err
		}
		for _, h := range p.HTTPGet.HTTPHeaders {
			req.Header.Add(h.Name, h.Value)
		}
		req.Header.Set("User-Agent", "kube-probe/1.36")
		tr := &http.Transport{DialContext: dial, DisableKeepAlives: true}
		tr.TLSClientConfig = insecureTLS()
		resp, err := (&http.Client{Transport: tr, Timeout: timeout}).Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("HTTP probe failed with statuscode: %d", resp.StatusCode)
		}
		return nil
	case p.TCPSocket != nil:
		port, err := resolvePort(p.TCPSocket.Port, c)
		if err != nil {
			return err
		}
		host := podIP
		if p.TCPSocket.Host != "" {
			host = p.TCPSocket.Host
		}
		conn, err := dial(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		return conn.Close()
	case p.Exec != nil:
		return execIn(ctx, ctr, p.Exec.Command, programs)
	case p.GRPC != nil:
		return fmt.Errorf("gRPC probes are not supported by the lab")
	}
	return fmt.Errorf("probe has no handler")
}

// execIn runs a command inside a container's mount, UTS and network
// namespaces with nsenter, as the container's user and with its
// environment. A command the image provides (kong in the kong image) runs
// the image's program.
func execIn(ctx context.Context, ctr *container, command []string, programs Programs) error {
	ctr.mu.Lock()
	pid, env, id, running := ctr.pid, ctr.env, ctr.id, ctr.state.Running != nil
	ctr.mu.Unlock()
	if !running || pid == 0 {
		return fmt.Errorf("container is not running")
	}
	if len(command) == 0 {
		return fmt.Errorf("exec has no command")
	}
	command = append([]string{}, command...)
	var progFile *os.File
	if prog, ok := programs.ImageCommand(ctr.spec.Image, command[0]); ok {
		// Handed over as an open file (fd 3): a container mount (an emptyDir
		// on /tmp, say) may hide the program's host path.
		f, err := os.Open(prog)
		if err != nil {
			return fmt.Errorf("exec %v: %w", command, err)
		}
		defer f.Close()
		progFile, command[0] = f, "/proc/self/fd/3"
	}
	args := []string{"-t", strconv.Itoa(pid), "-m", "-u", "-n"}
	if id.uid != 0 || id.gid != 0 {
		args = append(args, "-S", strconv.FormatInt(id.uid, 10), "-G", strconv.FormatInt(id.gid, 10))
	}
	args = append(append(args, "--"), command...)
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	cmd.Env = env
	if progFile != nil {
		cmd.ExtraFiles = []*os.File{progFile}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("exec %v: %w: %s", command, err, truncate(string(out), 512))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

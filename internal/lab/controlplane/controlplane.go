// Package controlplane starts the lab's Kubernetes control plane from the
// source-built binaries: etcd, kube-apiserver (RBAC, ServiceAccount tokens)
// and kube-controller-manager with the controllers a simulated node can
// satisfy. Everything listens on 127.0.0.1 of the host; pods reach the
// apiserver through the `kubernetes` Service that the lab's proxy forwards.
package controlplane

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/drawbridge-dev/drawbridge/internal/lab/proc"
)

// Controllers returns the kube-controller-manager controllers the lab runs.
// The node lifecycle, scheduling-related and storage controllers are left
// out: a simulated node has no volumes to attach, and node lifecycle would
// evict pods whenever the lab is paused.
func Controllers() []string {
	return []string{
		"deployment-controller",
		"replicaset-controller",
		"endpointslice-controller",
		"endpointslice-mirroring-controller",
		// v1 Endpoints too, as every cluster still has them: Prometheus's
		// kubernetes_sd role endpoints, which a Prometheus Operator uses for
		// ServiceMonitors by default, discovers targets from them.
		"endpoints-controller",
		"namespace-controller",
		"garbage-collector-controller",
		"serviceaccount-controller",
		"serviceaccount-token-controller",
		"root-ca-certificate-publisher-controller",
		"disruption-controller",
	}
}

// Options configure the control plane.
type Options struct {
	// Assets holds etcd, kube-apiserver and kube-controller-manager.
	Assets string
	// Dir receives certificates, data, logs and pid files.
	Dir string
	// ServiceCIDR is the ClusterIP range, e.g. 10.96.0.0/16.
	ServiceCIDR string
	// KubernetesServiceIP is the first address of ServiceCIDR; the serving
	// certificate names it so pods can verify the apiserver.
	KubernetesServiceIP net.IP
	// NodePortRange is passed to the apiserver, e.g. 30000-32767.
	NodePortRange string
	// Log receives progress lines.
	Log func(format string, args ...any)
}

// ControlPlane is a running control plane.
type ControlPlane struct {
	opts       Options
	Config     *rest.Config
	Kubeconfig string // admin kubeconfig for the host (server on 127.0.0.1)
	APIPort    int
	CAFile     string
	processes  []*proc.Process
}

// PidDir is where the control plane records pids.
func PidDir(dir string) string { return filepath.Join(dir, "pids") }

// Start boots etcd, the apiserver and the controller manager and waits until
// the apiserver is ready.
func Start(ctx context.Context, opts Options) (cp *ControlPlane, err error) {
	cp = &ControlPlane{opts: opts}
	defer func() {
		if err != nil {
			cp.Stop()
		}
	}()
	pkiDir := filepath.Join(opts.Dir, "pki")
	logs := filepath.Join(opts.Dir, "logs")
	for _, d := range []string{logs, filepath.Join(opts.Dir, "etcd")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return cp, fmt.Errorf("create %s: %w", d, err)
		}
	}
	p, err := newPKI(pkiDir)
	if err != nil {
		return cp, err
	}
	serviceDNS := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	if err := p.issue("apiserver", pkix.Name{CommonName: "kube-apiserver"}, serviceDNS,
		[]net.IP{net.ParseIP("127.0.0.1"), opts.KubernetesServiceIP}, x509.ExtKeyUsageServerAuth); err != nil {
		return cp, err
	}
	clients := map[string]pkix.Name{
		"admin":                   {CommonName: "lab-admin", Organization: []string{"system:masters"}},
		"kube-controller-manager": {CommonName: "system:kube-controller-manager"},
		"apiserver-kubelet":       {CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"}},
	}
	for name, subject := range clients {
		if err := p.issue(name, subject, nil, nil, x509.ExtKeyUsageClientAuth); err != nil {
			return cp, err
		}
	}
	if err := p.serviceAccountKey(); err != nil {
		return cp, err
	}
	cp.CAFile = p.path("ca.crt")

	ports := make([]int, 3)
	for i := range ports {
		if ports[i], err = proc.FreePort(); err != nil {
			return cp, err
		}
	}
	etcdClient, etcdPeer, apiPort := ports[0], ports[1], ports[2]
	cp.APIPort = apiPort
	pidDir := PidDir(opts.Dir)

	opts.Log("starting etcd (log: %s)", filepath.Join(logs, "etcd.log"))
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	if err := cp.start(proc.Spec{
		Name: "etcd", Path: filepath.Join(opts.Assets, "etcd"), LogFile: filepath.Join(logs, "etcd.log"),
		Args: []string{
			"--name=lab", "--data-dir=" + filepath.Join(opts.Dir, "etcd"),
			"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
			"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
			"--initial-cluster=lab=" + peerURL,
			// The lab's data is thrown away at the end; fsync only costs time.
			"--unsafe-no-fsync",
		},
	}, pidDir); err != nil {
		return cp, err
	}

	opts.Log("starting kube-apiserver on 127.0.0.1:%d (log: %s)", apiPort, filepath.Join(logs, "kube-apiserver.log"))
	if err := cp.start(proc.Spec{
		Name: "kube-apiserver", Path: filepath.Join(opts.Assets, "kube-apiserver"), LogFile: filepath.Join(logs, "kube-apiserver.log"),
		Restart: true,
		Args: []string{
			"--etcd-servers=" + etcdURL,
			"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(apiPort),
			"--tls-cert-file=" + p.path("apiserver.crt"), "--tls-private-key-file=" + p.path("apiserver.key"),
			"--client-ca-file=" + p.path("ca.crt"),
			"--authorization-mode=RBAC",
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-account-key-file=" + p.path("sa.pub"),
			"--service-account-signing-key-file=" + p.path("sa.key"),
			"--service-cluster-ip-range=" + opts.ServiceCIDR,
			"--service-node-port-range=" + opts.NodePortRange,
			// The lab's service proxy forwards the `kubernetes` Service to
			// this process itself; the apiserver's own endpoint would be a
			// loopback address, which EndpointSlices reject.
			"--endpoint-reconciler-type=none",
			"--allow-privileged=true",
			"--kubelet-client-certificate=" + p.path("apiserver-kubelet.crt"),
			"--kubelet-client-key=" + p.path("apiserver-kubelet.key"),
			"--kubelet-preferred-address-types=Hostname",
			"--enable-priority-and-fairness=false",
			"--profiling=false",
		},
	}, pidDir); err != nil {
		return cp, err
	}

	cp.Config = &rest.Config{
		Host: fmt.Sprintf("https://127.0.0.1:%d", apiPort),
		TLSClientConfig: rest.TLSClientConfig{
			CAFile: p.path("ca.crt"), CertFile: p.path("admin.crt"), KeyFile: p.path("admin.key"),
		},
		QPS: 100, Burst: 200,
	}
	cp.Kubeconfig = filepath.Join(opts.Dir, "kubeconfig")
	if err := writeKubeconfig(cp.Kubeconfig, cp.Config.Host, p, "admin"); err != nil {
		return cp, err
	}
	kcmKubeconfig := filepath.Join(opts.Dir, "kube-controller-manager.kubeconfig")
	if err := writeKubeconfig(kcmKubeconfig, cp.Config.Host, p, "kube-controller-manager"); err != nil {
		return cp, err
	}
	if err := waitReady(ctx, cp, 90*time.Second); err != nil {
		return cp, err
	}

	opts.Log("starting kube-controller-manager (log: %s)", filepath.Join(logs, "kube-controller-manager.log"))
	if err := cp.start(proc.Spec{
		Name: "kube-controller-manager", Path: filepath.Join(opts.Assets, "kube-controller-manager"),
		LogFile: filepath.Join(logs, "kube-controller-manager.log"), Restart: true,
		Args: []string{
			"--kubeconfig=" + kcmKubeconfig,
			"--authentication-kubeconfig=" + kcmKubeconfig,
			"--authorization-kubeconfig=" + kcmKubeconfig,
			"--controllers=" + strings.Join(Controllers(), ","),
			"--service-account-private-key-file=" + p.path("sa.key"),
			"--root-ca-file=" + p.path("ca.crt"),
			"--use-service-account-credentials=true",
			"--leader-elect=false",
			"--bind-address=127.0.0.1", "--secure-port=0",
			"--service-cluster-ip-range=" + opts.ServiceCIDR,
		},
	}, pidDir); err != nil {
		return cp, err
	}
	return cp, nil
}

func (cp *ControlPlane) start(spec proc.Spec, pidDir string) error {
	p, err := proc.Start(spec, pidDir)
	if err != nil {
		return err
	}
	cp.processes = append(cp.processes, p)
	return nil
}

// Failed reports each control-plane process that exited for good.
func (cp *ControlPlane) Failed() <-chan string {
	out := make(chan string, len(cp.processes))
	for _, p := range cp.processes {
		go func() {
			<-p.Done()
			out <- fmt.Sprintf("%s exited: %v", p.Name(), p.Err())
		}()
	}
	return out
}

// Outage stops one control-plane process ("etcd", "kube-apiserver" or
// "kube-controller-manager") and starts it again when down has passed.
// It returns once the process has exited.
func (cp *ControlPlane) Outage(name string, down time.Duration) error {
	for _, p := range cp.processes {
		if p.Name() == name {
			return p.Outage(down, 10*time.Second)
		}
	}
	return fmt.Errorf("the control plane has no process %q", name)
}

// Stop ends the processes in reverse order of start.
func (cp *ControlPlane) Stop() error {
	var errs []error
	for i := len(cp.processes) - 1; i >= 0; i-- {
		if err := cp.processes[i].Stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	cp.processes = nil
	return errors.Join(errs...)
}

func writeKubeconfig(path, server string, p *pki, user string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["lab"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: p.path("ca.crt")}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificate: p.path(user + ".crt"), ClientKey: p.path(user + ".key")}
	cfg.Contexts["lab"] = &clientcmdapi.Context{Cluster: "lab", AuthInfo: user}
	cfg.CurrentContext = "lab"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

// WriteKubeconfig writes an admin kubeconfig for another server address,
// e.g. the `kubernetes` Service address for processes inside the lab.
func (cp *ControlPlane) WriteKubeconfig(path, server string) error {
	return writeKubeconfig(path, server, &pki{dir: filepath.Join(cp.opts.Dir, "pki")}, "admin")
}

func waitReady(ctx context.Context, cp *ControlPlane, timeout time.Duration) error {
	tlsCfg, err := rest.TLSConfigFor(cp.Config)
	if err != nil {
		return fmt.Errorf("apiserver client TLS: %w", err)
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg.Clone()}}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		resp, err := client.Get(cp.Config.Host + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		for _, p := range cp.processes {
			select {
			case <-p.Done():
				return fmt.Errorf("%s exited while waiting for the apiserver (see %s/logs)", p.Name(), cp.opts.Dir)
			default:
			}
		}
	}
	return fmt.Errorf("kube-apiserver not ready after %s (last: %s; see %s)", timeout, last, filepath.Join(cp.opts.Dir, "logs", "kube-apiserver.log"))
}

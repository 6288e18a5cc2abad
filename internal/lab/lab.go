// Package lab boots the lab: an embedded Kubernetes cluster on this machine
// in which Gateways carry real traffic. It combines the source-built control
// plane, a simulated node that runs pods as processes in their own network
// namespaces, and a service proxy with a load-balancer pool. All lab
// addresses live in namespaces the lab creates; the host reaches the lab
// through ports on 127.0.0.1 only.
package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/drawbridge-dev/drawbridge/internal/lab/controlplane"
	"github.com/drawbridge-dev/drawbridge/internal/lab/netns"
	"github.com/drawbridge-dev/drawbridge/internal/lab/node"
	"github.com/drawbridge-dev/drawbridge/internal/lab/proxy"
)

// The lab's address plan. Every range exists only inside the lab's network
// namespaces.
const (
	PodCIDR     = "10.244.0.0/16"
	NodeIP      = "10.244.0.1"
	ServiceCIDR = "10.96.0.0/16"
	// KubernetesServiceIP is the first address of ServiceCIDR, which the
	// apiserver gives the `kubernetes` Service.
	KubernetesServiceIP = "10.96.0.1"
	LBPool              = "172.18.255.0/24"
	NodeName            = "lab-node"
	bridge              = "br0"
	bridgeMAC           = "02:42:0a:f4:00:01"
)

// Options configure a lab.
type Options struct {
	// Name tells labs apart: it prefixes the lab's network namespaces, so a
	// `make run` lab and an e2e lab can run at once.
	Name string
	// Dir holds everything the lab writes; it is emptied on start.
	Dir string
	// Assets holds etcd, kube-apiserver and kube-controller-manager.
	Assets string
	// LabBinary is the lab command, whose pod-init starts containers.
	LabBinary string
	Programs  node.Programs
	// Log gets progress lines; Verbose gets the noisy ones.
	Log     func(format string, args ...any)
	Verbose func(format string, args ...any)
	// OnForward is told about each host forward that opens or closes.
	OnForward func(f proxy.Forward, open bool)
}

// Lab is a running lab.
type Lab struct {
	opts   Options
	Config *rest.Config
	Client kubernetes.Interface
	// Kubeconfig is for the host (apiserver on 127.0.0.1); InKubeconfig is
	// for processes inside the node namespace (`lab exec`).
	Kubeconfig, InKubeconfig string
	Proxy                    *proxy.Proxy
	Node                     *node.Node

	cp      *controlplane.ControlPlane
	logs    *node.LogServer
	logFile *os.File
	nodeNS  netns.NS
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	failed  chan string
}

func (o Options) netnsPrefix() string { return "dblab-" + o.Name }

// preflight checks that every program the lab runs exists, so a missing
// build says what to run instead of failing pods one by one.
func (o Options) preflight() error {
	var missing []string
	for _, p := range []string{
		filepath.Join(o.Assets, "etcd"), filepath.Join(o.Assets, "kube-apiserver"), filepath.Join(o.Assets, "kube-controller-manager"),
		o.LabBinary, o.Programs.Kong, o.Programs.EchoBasic, o.Programs.Drawbridge, o.Programs.CoreDNS,
	} {
		if info, err := os.Stat(p); err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the lab needs these programs: %s (make kube-binaries lab-binaries builds them)", strings.Join(missing, ", "))
	}
	for _, tool := range []string{netns.IP, "nsenter", netns.NFT} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("the lab needs %s (make lab-deps installs it): %w", tool, err)
		}
	}
	return nil
}

// Up boots a lab. On error everything started so far is torn down.
func Up(ctx context.Context, opts Options) (l *Lab, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the lab needs root: it creates network namespaces, veth pairs and mount namespaces")
	}
	if opts.Verbose == nil {
		opts.Verbose = func(string, ...any) {}
	}
	if err := opts.preflight(); err != nil {
		return nil, err
	}
	if err := Down(ctx, opts.Name, opts.Dir); err != nil {
		return nil, fmt.Errorf("clean up a previous lab: %w", err)
	}
	// A fresh etcd and fresh certificates every time: a lab never inherits
	// objects from the previous one.
	if err := os.RemoveAll(opts.Dir); err != nil {
		return nil, fmt.Errorf("empty %s: %w", opts.Dir, err)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := recordOwner(opts.Dir); err != nil {
		return nil, err
	}
	// The node's and proxy's detailed log always goes to lab.log.
	verbose, err := os.Create(filepath.Join(opts.Dir, "lab.log"))
	if err != nil {
		return nil, err
	}
	userVerbose := opts.Verbose
	var logMu sync.Mutex
	opts.Verbose = func(format string, args ...any) {
		logMu.Lock()
		fmt.Fprintf(verbose, time.Now().Format("15:04:05.000 ")+format+"\n", args...)
		logMu.Unlock()
		userVerbose(format, args...)
	}
	userLog := opts.Log
	opts.Log = func(format string, args ...any) {
		opts.Verbose(format, args...)
		userLog(format, args...)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	l = &Lab{opts: opts, cancel: cancel, failed: make(chan string, 8), logFile: verbose}
	defer func() {
		if err != nil {
			l.Stop()
		}
	}()

	opts.Log("creating the node network namespace %s-node (pods %s, services %s, load balancers %s)", opts.netnsPrefix(), PodCIDR, ServiceCIDR, LBPool)
	l.nodeNS, err = netns.Create(ctx, opts.netnsPrefix()+"-node")
	if err != nil {
		return l, err
	}
	bits := 16
	for _, step := range [][]string{
		// A fixed MAC: otherwise the bridge takes the lowest MAC of its
		// ports and changes it when a pod's veth goes away, and every pod
		// keeps sending to the old gateway MAC until its ARP entry expires.
		{"link", "add", bridge, "address", bridgeMAC, "type", "bridge"},
		{"addr", "add", NodeIP + "/" + strconv.Itoa(bits), "dev", bridge},
		{"link", "set", bridge, "up"},
	} {
		if err := l.nodeNS.IP(ctx, step...); err != nil {
			return l, err
		}
	}

	l.cp, err = controlplane.Start(ctx, controlplane.Options{
		Assets: opts.Assets, Dir: filepath.Join(opts.Dir, "control-plane"),
		ServiceCIDR: ServiceCIDR, KubernetesServiceIP: net.ParseIP(KubernetesServiceIP),
		NodePortRange: "30000-32767", Log: opts.Log,
	})
	if err != nil {
		return l, err
	}
	l.Config, l.Kubeconfig = l.cp.Config, filepath.Join(opts.Dir, "kubeconfig")
	if err := copyFile(l.cp.Kubeconfig, l.Kubeconfig); err != nil {
		return l, err
	}
	l.InKubeconfig = filepath.Join(opts.Dir, "kubeconfig.in-lab")
	if err := l.cp.WriteKubeconfig(l.InKubeconfig, "https://"+KubernetesServiceIP+":443"); err != nil {
		return l, err
	}
	l.Client, err = kubernetes.NewForConfig(l.Config)
	if err != nil {
		return l, err
	}
	go func() {
		if msg, ok := <-l.cp.Failed(); ok {
			l.failed <- msg
		}
	}()

	opts.Log("starting the service proxy and load balancer in the node namespace")
	l.Proxy = proxy.New(proxy.Options{
		Client: l.Client, NodeNS: l.nodeNS, NodeIP: NodeIP,
		ServiceCIDR: ServiceCIDR, LBPool: LBPool,
		APIServer: "127.0.0.1:" + strconv.Itoa(l.cp.APIPort),
		OnForward: opts.OnForward, Log: opts.Log,
	})
	if err := l.runUntilReady(runCtx, "service proxy", l.Proxy.Run); err != nil {
		return l, err
	}

	opts.Log("starting the simulated node %s (pods: %s)", NodeName, filepath.Join(opts.Dir, "pods"))
	// The container log endpoint: the apiserver reaches it on 127.0.0.1
	// for `kubectl logs`.
	logLn, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return l, fmt.Errorf("listen for container logs: %w", err)
	}
	l.Node, err = node.New(node.Options{
		LogPort: logLn.Addr().(*net.TCPAddr).Port,
		Name:    NodeName, Client: l.Client, NodeNS: l.nodeNS, Bridge: bridge, NodeIP: NodeIP,
		PodCIDR: PodCIDR, NetnsPrefix: opts.netnsPrefix(), Dir: filepath.Join(opts.Dir, "pods"),
		InitBinary: opts.LabBinary, Programs: opts.Programs,
		KubernetesServiceHost: KubernetesServiceIP, KubernetesServicePort: "443",
		Dial: l.nodeNS.DialContext, Log: opts.Verbose,
	})
	if err != nil {
		return l, err
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "pods"), 0o755); err != nil {
		return l, err
	}
	if l.logs, err = l.Node.ServeLogs(logLn, l.cp.CAFile); err != nil {
		_ = logLn.Close()
		return l, err
	}
	if err := l.runUntilReady(runCtx, "node", l.Node.Run); err != nil {
		return l, err
	}
	return l, nil
}

// runUntilReady starts a component and waits for its ready signal.
func (l *Lab) runUntilReady(ctx context.Context, what string, run func(context.Context, chan<- struct{}) error) error {
	ready := make(chan struct{})
	errc := make(chan error, 1)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		if err := run(ctx, ready); err != nil {
			errc <- err
			l.failed <- fmt.Sprintf("%s: %v", what, err)
		}
	}()
	select {
	case <-ready:
		return nil
	case err := <-errc:
		return fmt.Errorf("%s: %w", what, err)
	case <-time.After(time.Minute):
		return fmt.Errorf("%s not ready within a minute", what)
	}
}

// Failed reports a component that stopped while the lab runs.
func (l *Lab) Failed() <-chan string { return l.failed }

// NodeNS is the lab's node namespace, where lab addresses are reachable.
func (l *Lab) NodeNS() netns.NS { return l.nodeNS }

// Dir is the lab directory.
func (l *Lab) Dir() string { return l.opts.Dir }

// ControlPlaneOutage stops one control-plane process (etcd, kube-apiserver,
// kube-controller-manager) and starts it again after down; it returns when
// the process has stopped. Fault tests use it; pods keep running.
func (l *Lab) ControlPlaneOutage(name string, down time.Duration) error {
	return l.cp.Outage(name, down)
}

// APIPort is the apiserver's port on 127.0.0.1.
func (l *Lab) APIPort() int { return l.cp.APIPort }

// Stop tears the lab down: pods first (while the apiserver still answers),
// then the proxy, the control plane and the namespaces.
func (l *Lab) Stop() {
	if l.Node != nil {
		l.Node.Stop()
	}
	if l.logs != nil {
		_ = l.logs.Close()
	}
	l.cancel()
	l.wg.Wait()
	if l.cp != nil {
		if err := l.cp.Stop(); err != nil {
			l.opts.Log("stop control plane: %v", err)
		}
	}
	if err := Down(context.Background(), l.opts.Name, l.opts.Dir); err != nil {
		l.opts.Log("clean up: %v", err)
	}
	_ = l.logFile.Close()
}

func copyFile(from, to string) error {
	raw, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, raw, 0o600)
}

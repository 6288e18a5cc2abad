// Command lab runs the Drawbridge lab, an embedded cluster on this machine in
// which Gateways carry real traffic. `make run` calls `lab up`; `lab down`
// removes whatever a crashed lab left; `lab exec -- cmd` runs a command in the
// lab's node network namespace, where pod, Service and Gateway addresses are
// reachable. The pod-init subcommand is internal: it becomes a container.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drawbridge-dev/drawbridge/internal/lab"
	"github.com/drawbridge-dev/drawbridge/internal/lab/netns"
	"github.com/drawbridge-dev/drawbridge/internal/lab/node"
	"github.com/drawbridge-dev/drawbridge/internal/lab/proxy"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == node.InitCommand {
		err := node.RunInit(os.Args[2:])
		fmt.Fprintf(os.Stderr, "lab %s: %v\n", node.InitCommand, err)
		os.Exit(127)
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: lab up|down|exec [flags]")
	}
	switch args[0] {
	case "up":
		return up(args[1:])
	case "down":
		return down(args[1:])
	case "exec":
		return execIn(args[1:])
	case "conformance":
		return conformance(args[1:])
	}
	return fmt.Errorf("unknown subcommand %q (want up, down, exec or conformance)", args[0])
}

type common struct {
	name, dir string
}

func (c *common) bind(fs *flag.FlagSet) {
	fs.StringVar(&c.name, "name", "run", "lab name; labs with different names run side by side")
	fs.StringVar(&c.dir, "dir", ".lab/run", "lab directory: logs, kubeconfig, pod files")
}

func say(format string, args ...any) { fmt.Printf("lab: "+format+"\n", args...) }

// bootFlags are the flags of the subcommands that boot a lab.
type bootFlags struct {
	assets, binDir, gatewayCRDs, configDir string
	kong                                   string
}

func (b *bootFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&b.assets, "assets", "bin/k8s/v1.36.3", "directory with etcd, kube-apiserver, kube-controller-manager")
	fs.StringVar(&b.binDir, "bin", "bin", "directory with drawbridge, kong-launcher and the Kong build, kong-standin, echo-basic, dns-standin and lab")
	fs.StringVar(&b.kong, "kong", lab.KongReal, "what runs the kong:3.9 images: real (Kong "+lab.KongVersion+" built by make kong) or standin (the Go stand-in)")
	fs.StringVar(&b.gatewayCRDs, "gateway-api-crds", "", "directory with the Gateway API CRDs")
	fs.StringVar(&b.configDir, "config", "config", "the kustomize config directory (default/ and samples/)")
}

// options are the lab options for a lab named by c, with the programs
// from the bin directory.
func (b *bootFlags) options(c common) (lab.Options, error) {
	dir, _ := filepath.Abs(c.dir)
	bin, _ := filepath.Abs(b.binDir)
	programs, err := lab.Programs(bin, b.kong)
	if err != nil {
		return lab.Options{}, err
	}
	say("data plane: %s", lab.DataPlaneName(b.kong))
	return lab.Options{
		Name: c.name, Dir: dir, Assets: b.assets, LabBinary: filepath.Join(bin, "lab"),
		Programs: programs, Log: say,
	}, nil
}

func up(args []string) error {
	fs := flag.NewFlagSet("lab up", flag.ContinueOnError)
	var c common
	c.bind(fs)
	var b bootFlags
	b.bind(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, _ := filepath.Abs(c.dir)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	opts, err := b.options(c)
	if err != nil {
		return err
	}
	opts.OnForward = func(f proxy.Forward, open bool) {
		if open {
			say("forward %s -> %s/%s %d/%s (load balancer %s)", f.HostAddr, f.Namespace, f.Service, f.Port, f.Protocol, f.LoadBalancerIP)
		}
	}
	l, err := lab.Up(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		say("tearing the lab down")
		l.Stop()
		say("stopped; no process, mount or network namespace of the lab is left")
	}()
	say("apiserver on https://127.0.0.1:%d", l.APIPort())
	cl, err := client.New(l.Config, client.Options{Scheme: lab.Scheme()})
	if err != nil {
		return err
	}
	if err := lab.Install(ctx, cl, b.gatewayCRDs, b.configDir, say); err != nil {
		return err
	}
	samples := filepath.Join(b.configDir, "samples")
	say("applying the samples from %s", samples)
	objs, err := lab.ReadKustomization(samples)
	if err != nil {
		return err
	}
	if err := lab.ApplyObjects(ctx, cl, objs); err != nil {
		return err
	}
	gw := client.ObjectKey{Namespace: "demo", Name: "demo"}
	say("waiting for Gateway demo/demo to be Programmed")
	last := ""
	if err := lab.WaitFor(ctx, 3*time.Minute, "Gateway demo/demo to be Programmed", func() (bool, error) {
		ok, msg := lab.GatewayProgrammed(ctx, cl, gw)
		if msg != last {
			say("  Gateway demo/demo: %s", msg)
			last = msg
		}
		return ok, nil
	}); err != nil {
		return fmt.Errorf("%w (logs: %s)", err, dir)
	}
	var hostAddr string
	if err := lab.WaitFor(ctx, 30*time.Second, "the host forward of demo/demo-kong port 80", func() (bool, error) {
		var ok bool
		hostAddr, ok = l.Proxy.HostAddr("demo", "demo-kong", 80, corev1.ProtocolTCP)
		return ok, nil
	}); err != nil {
		return err
	}
	say("ready in %s (logs: %s/control-plane/logs, pods: %s/pods)", time.Since(start).Round(100*time.Millisecond), dir, dir)
	fmt.Printf(`
kubeconfig: %[1]s
kubectl:    kubectl --kubeconfig %[1]s -n demo get gateway,httproute,pods,svc
curl:       curl -s http://%[2]s/
`, l.Kubeconfig, hostAddr)
	fmt.Println("\nPress Ctrl-C to stop the lab.")
	select {
	case <-ctx.Done():
	case msg := <-l.Failed():
		return fmt.Errorf("the lab failed: %s", msg)
	}
	return nil
}

func down(args []string) error {
	fs := flag.NewFlagSet("lab down", flag.ContinueOnError)
	var c common
	c.bind(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, _ := filepath.Abs(c.dir)
	if err := lab.Down(context.Background(), c.name, dir); err != nil {
		return err
	}
	say("lab %q is down", c.name)
	return nil
}

// execIn runs a command in the node namespace with KUBECONFIG pointing at
// the apiserver through the `kubernetes` Service.
func execIn(args []string) error {
	fs := flag.NewFlagSet("lab exec", flag.ContinueOnError)
	var c common
	c.bind(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cmdline := fs.Args()
	if len(cmdline) == 0 {
		return errors.New("usage: lab exec [--name N --dir D] -- command [args]")
	}
	dir, _ := filepath.Abs(c.dir)
	ns := netns.NS{Name: "dblab-" + c.name + "-node"}
	if _, err := os.Stat(ns.Path()); err != nil {
		return fmt.Errorf("lab %q is not running (%s): %w", c.name, ns.Path(), err)
	}
	if err := runInNode(context.Background(), ns, filepath.Join(dir, "kubeconfig.in-lab"), cmdline); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.ExitCode())
		}
		return fmt.Errorf("%s: %w", strings.Join(cmdline, " "), err)
	}
	return nil
}

// runInNode runs a command in the lab's node network namespace, where pod,
// Service and Gateway addresses are reachable, with KUBECONFIG pointing at
// the apiserver through the `kubernetes` Service.
func runInNode(ctx context.Context, ns netns.NS, kubeconfig string, cmdline []string) error {
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + ns.Path(), "--"}, cmdline...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}

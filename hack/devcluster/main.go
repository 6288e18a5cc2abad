// Command devcluster is what `make run` starts until the full lab exists: an
// embedded control plane (the source-built kube-apiserver and etcd) with the
// Gateway API and Drawbridge CRDs, the operator running against it, and the
// samples applied. There is no node in this mode, so data-plane pods do not
// run and Gateways honestly report that they wait for an address.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "devcluster:", err)
		os.Exit(1)
	}
}

func run() error {
	assets := flag.String("assets", "bin/k8s/v1.36.3", "directory with kube-apiserver and etcd")
	gatewayCRDs := flag.String("gateway-api-crds", "", "directory with the Gateway API CRDs to install")
	operator := flag.String("operator", "bin/drawbridge", "the drawbridge binary to run")
	dir := flag.String("dir", ".lab/dev", "where the kubeconfig and logs are written")
	samples := flag.String("samples", "config/samples", "manifests applied once the operator runs")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	absDir, _ := filepath.Abs(*dir)

	step("starting kube-apiserver and etcd from %s", *assets)
	env := &envtest.Environment{
		BinaryAssetsDirectory: *assets,
		CRDDirectoryPaths:     []string{"config/crd/bases", *gatewayCRDs},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("start control plane: %w", err)
	}
	defer func() {
		step("stopping the control plane")
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "devcluster: stop control plane:", err)
		}
	}()

	admin, err := env.ControlPlane.AddUser(envtest.User{Name: "dev-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("create admin user: %w", err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return fmt.Errorf("render kubeconfig: %w", err)
	}
	kubeconfigPath := filepath.Join(absDir, "kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		return err
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(gwv1.Install(scheme))
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "drawbridge-system"}}); err != nil {
		return fmt.Errorf("create drawbridge-system: %w", err)
	}

	step("starting the operator (log: %s)", filepath.Join(absDir, "operator.log"))
	logFile, err := os.Create(filepath.Join(absDir, "operator.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, *operator, "manager",
		"--operator-namespace=drawbridge-system", "--metrics-bind-address=0", "--health-probe-bind-address=0")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfigPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start operator: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	step("applying the samples from %s", *samples)
	if err := applyDir(ctx, c, *samples); err != nil {
		return err
	}
	step("waiting for the sample Gateway to be accepted and provisioned")
	if err := waitAccepted(ctx, c, exited); err != nil {
		return err
	}

	fmt.Printf(`
Drawbridge is running on an embedded control plane.

  kubeconfig: %[1]s
  try:        kubectl --kubeconfig %[1]s get gatewayclass,gateway,gatewayconfiguration -A
              kubectl --kubeconfig %[1]s -n demo get deploy,svc,networkpolicy,pdb
              kubectl --kubeconfig %[1]s -n demo get gateway demo -o yaml
  operator:   %[2]s

This mode has no node: data-plane pods do not start and no load balancer
assigns addresses, so the Gateway reports Programmed=False/AddressNotAssigned.
Press Ctrl-C to stop and remove everything.
`, kubeconfigPath, filepath.Join(absDir, "operator.log"))

	select {
	case <-ctx.Done():
	case err := <-exited:
		return fmt.Errorf("operator exited: %v (see %s)", err, filepath.Join(absDir, "operator.log"))
	}
	step("stopping the operator")
	<-exited
	return nil
}

func step(format string, args ...any) {
	fmt.Printf("devcluster: "+format+"\n", args...)
}

// applyDir server-side applies every YAML document of every file in dir.
func applyDir(ctx context.Context, c client.Client, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
		for {
			doc, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", f, err)
			}
			var u unstructured.Unstructured
			if err := utilyaml.Unmarshal(doc, &u.Object); err != nil {
				return fmt.Errorf("parse %s: %w", f, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(&u), client.FieldOwner("devcluster")); err != nil {
				return fmt.Errorf("apply %s %s from %s: %w", u.GetKind(), u.GetName(), f, err)
			}
		}
	}
	return nil
}

func waitAccepted(ctx context.Context, c client.Client, exited <-chan error) error {
	deadline := time.After(2 * time.Minute)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-exited:
			return fmt.Errorf("operator exited early: %v", err)
		case <-deadline:
			return errors.New("the sample Gateway was not accepted within 2 minutes; see the operator log")
		case <-tick.C:
			var gw gwv1.Gateway
			if err := c.Get(ctx, client.ObjectKey{Namespace: "demo", Name: "demo"}, &gw); err != nil {
				continue
			}
			if cond := meta.FindStatusCondition(gw.Status.Conditions, "Accepted"); cond != nil && cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == gw.Generation {
				return nil
			}
		}
	}
}

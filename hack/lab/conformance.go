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
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/lab"
)

// conformance boots a fresh lab with the operator and a GatewayClass of
// ours, runs a command (the conformance suite) in the node network
// namespace, where Gateway addresses are reachable, and tears the lab down.
// Its exit status is the command's.
func conformance(args []string) error {
	fs := flag.NewFlagSet("lab conformance", flag.ContinueOnError)
	var c common
	c.bind(fs)
	var b bootFlags
	b.bind(fs)
	className := fs.String("gateway-class", "drawbridge", "the GatewayClass to create for the suite")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cmdline := fs.Args()
	if len(cmdline) == 0 {
		return errors.New("usage: lab conformance [flags] -- command [args]")
	}
	dir, _ := filepath.Abs(c.dir)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts, err := b.options(c)
	if err != nil {
		return err
	}
	l, err := lab.Up(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		say("tearing the lab down")
		l.Stop()
	}()
	cl, err := client.New(l.Config, client.Options{Scheme: lab.Scheme()})
	if err != nil {
		return err
	}
	if err := lab.Install(ctx, cl, b.gatewayCRDs, b.configDir, say); err != nil {
		return err
	}
	class := &gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: *className},
		Spec: gwv1.GatewayClassSpec{ControllerName: gatewayapi.ControllerName}}
	if err := cl.Create(ctx, class); err != nil {
		return fmt.Errorf("create GatewayClass %s: %w", *className, err)
	}
	if err := lab.WaitFor(ctx, 2*time.Minute, "GatewayClass "+*className+" to be accepted", func() (bool, error) {
		if err := cl.Get(ctx, client.ObjectKeyFromObject(class), class); err != nil {
			return false, nil
		}
		return meta.IsStatusConditionTrue(class.Status.Conditions, string(gwv1.GatewayClassConditionStatusAccepted)), nil
	}); err != nil {
		return err
	}
	say("running %v in the node network namespace", cmdline)
	runErr := runInNode(ctx, l.NodeNS(), l.InKubeconfig, cmdline)
	var exit *exec.ExitError
	if errors.As(runErr, &exit) {
		return fmt.Errorf("%v exited with status %d (lab logs: %s)", cmdline, exit.ExitCode(), dir)
	}
	return runErr
}

// Package e2e runs Drawbridge end to end on the lab: the operator as a pod
// from config/default, Kong data planes as stand-in processes, echo backends
// from the Gateway API conformance module, and real traffic through each
// Gateway's host forward on 127.0.0.1. Every test bounds its request count
// and duration.
//
// The suite needs root and the lab binaries; `make test` provides both
// (LAB_BIN_DIR, KUBEBUILDER_ASSETS, GATEWAY_API_CRDS). Without them it skips
// and says why.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drawbridge-dev/drawbridge/internal/lab"
)

// labName names the suite's lab: "e2e", or E2E_LAB_NAME when a second run
// (`make test-faults`) must not take down a lab that is already running.
var labName = func() string {
	if n := os.Getenv("E2E_LAB_NAME"); n != "" {
		return n
	}
	return "e2e"
}()

var (
	theLab *lab.Lab
	k8s    client.Client
	cs     kubernetes.Interface
	labDir string
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Drawbridge lab e2e")
}

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	bin, assets, crds := os.Getenv("LAB_BIN_DIR"), os.Getenv("KUBEBUILDER_ASSETS"), os.Getenv("GATEWAY_API_CRDS")
	if bin == "" || assets == "" || crds == "" {
		// A plain `go test ./...` has no lab programs to run; `make test`
		// builds them and always runs this suite.
		Skip("the lab e2e suite runs under `make test` (needs LAB_BIN_DIR, KUBEBUILDER_ASSETS, GATEWAY_API_CRDS)")
	}
	// Under `make test` (the variables are set) a missing privilege is a
	// failure, never a silent skip of the whole suite.
	Expect(os.Geteuid()).To(BeZero(), "the lab needs root (network and mount namespaces); run `make test` as root")
	labDir = filepath.Join(repoRoot(), ".lab", labName)
	logf := func(format string, args ...any) { fmt.Fprintf(GinkgoWriter, "lab: "+format+"\n", args...) }
	// Real Kong unless LAB_KONG=standin asks for the stand-in by name.
	programs, err := lab.Programs(bin, os.Getenv("LAB_KONG"))
	Expect(err).NotTo(HaveOccurred())
	logf("data plane: %s", lab.DataPlaneName(os.Getenv("LAB_KONG")))
	theLab, err = lab.Up(ctx, lab.Options{
		Name: labName, Dir: labDir, Assets: assets, LabBinary: filepath.Join(bin, "lab"),
		Programs: programs, Log: logf,
	})
	Expect(err).NotTo(HaveOccurred())
	cs = theLab.Client
	k8s, err = client.New(theLab.Config, client.Options{Scheme: lab.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	Expect(lab.Install(ctx, k8s, crds, filepath.Join(repoRoot(), "config"), logf)).To(Succeed())
	Expect(applyYAML(ctx, sharedClass)).To(Succeed())
}, NodeTimeout(5*time.Minute))

// AfterSuite tears the lab down and checks that it left nothing behind.
var _ = AfterSuite(func() {
	if theLab == nil {
		return
	}
	Expect(lab.Children()).NotTo(BeEmpty(), "the lab's processes are children of this process")
	theLab.Stop()
	Expect(lab.Leftovers(labName, labDir)).To(BeEmpty(), "what the lab left after teardown")
	Expect(lab.Down(context.Background(), labName, labDir)).To(Succeed())
})

// sharedClass is the GatewayClass every test uses, with one replica by
// default so tests that need more say so.
const sharedClass = `
apiVersion: gateway.drawbridge.dev/v1alpha1
kind: GatewayConfiguration
metadata:
  name: e2e-defaults
  namespace: drawbridge-system
spec:
  dataPlane:
    image: kong:3.9
    replicas: 1
  service:
    type: LoadBalancer
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: e2e
spec:
  controllerName: drawbridge.dev/gateway-controller
  parametersRef:
    group: gateway.drawbridge.dev
    kind: GatewayConfiguration
    name: e2e-defaults
    namespace: drawbridge-system
`

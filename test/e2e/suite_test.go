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
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drawbridge-dev/drawbridge/internal/lab"
	"github.com/drawbridge-dev/drawbridge/internal/lab/netns"
	"github.com/drawbridge-dev/drawbridge/internal/lab/node"
)

const labName = "e2e"

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
		Skip("the lab e2e suite runs under `make test` (needs LAB_BIN_DIR, KUBEBUILDER_ASSETS, GATEWAY_API_CRDS)")
	}
	if os.Geteuid() != 0 {
		Skip("the lab needs root (network and mount namespaces)")
	}
	labDir = filepath.Join(repoRoot(), ".lab", labName)
	logf := func(format string, args ...any) { fmt.Fprintf(GinkgoWriter, "lab: "+format+"\n", args...) }
	var err error
	theLab, err = lab.Up(ctx, lab.Options{
		Name: labName, Dir: labDir, Assets: assets, LabBinary: filepath.Join(bin, "lab"),
		Programs: node.Programs{
			Kong: filepath.Join(bin, "kong-standin"), EchoBasic: filepath.Join(bin, "echo-basic"),
			Drawbridge: filepath.Join(bin, "drawbridge"),
		},
		Log: logf,
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
	// Every pod process lives in one of the lab's network namespaces; after
	// teardown no process may still be in one, even if its name is gone.
	names, err := netns.List("dblab-" + labName + "-")
	Expect(err).NotTo(HaveOccurred())
	inodes := map[uint64]string{}
	for _, n := range names {
		var st syscall.Stat_t
		if syscall.Stat(netns.NS{Name: n}.Path(), &st) == nil {
			inodes[st.Ino] = n
		}
	}
	Expect(inodes).NotTo(BeEmpty())
	theLab.Stop()

	left, err := netns.List("dblab-" + labName + "-")
	Expect(err).NotTo(HaveOccurred())
	Expect(left).To(BeEmpty(), "network namespaces left after teardown")
	pids, _ := filepath.Glob(filepath.Join(labDir, "control-plane", "pids", "*.pid"))
	Expect(pids).To(BeEmpty(), "control-plane processes left after teardown")
	procs, _ := filepath.Glob("/proc/[0-9]*/ns/net")
	for _, p := range procs {
		var st syscall.Stat_t
		if syscall.Stat(p, &st) == nil {
			Expect(inodes).NotTo(HaveKey(st.Ino), "process %s is still in lab namespace %s", p, inodes[st.Ino])
		}
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	Expect(err).NotTo(HaveOccurred())
	Expect(string(mounts)).NotTo(ContainSubstring(labDir), "mounts of the lab left in the host mount namespace")
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

// Package helm installs Drawbridge into the lab with its Helm chart
// (charts/drawbridge) and bin/helm, on a lab of its own that boots without
// the operator (the e2e suite deploys it from config/default instead), and
// checks that the installed operator serves traffic through a Gateway of the
// chart's GatewayClass, that `helm upgrade` changes it, and that
// `helm uninstall` removes what the release created.
//
// The suite needs root, the lab binaries and bin/helm; `make test` provides
// them (LAB_BIN_DIR, KUBEBUILDER_ASSETS, GATEWAY_API_CRDS, HELM). Without the
// lab variables it skips and says why, like the e2e suite.
package helm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drawbridge-dev/drawbridge/internal/lab"
)

// labName names the suite's lab: "helm", or HELM_E2E_LAB_NAME so that a
// second run does not take down a lab that is already running.
var labName = func() string {
	if n := os.Getenv("HELM_E2E_LAB_NAME"); n != "" {
		return n
	}
	return "helm"
}()

var (
	theLab   *lab.Lab
	k8s      client.Client
	labDir   string
	helmBin  string
	helmHome string
)

func TestHelm(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Drawbridge Helm chart on the lab")
}

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	bin, assets, crds := os.Getenv("LAB_BIN_DIR"), os.Getenv("KUBEBUILDER_ASSETS"), os.Getenv("GATEWAY_API_CRDS")
	if bin == "" || assets == "" || crds == "" {
		Skip("the Helm lab suite runs under `make test` (needs LAB_BIN_DIR, KUBEBUILDER_ASSETS, GATEWAY_API_CRDS)")
	}
	Expect(os.Geteuid()).To(BeZero(), "the lab needs root (network and mount namespaces); run `make test` as root")
	helmBin = os.Getenv("HELM")
	if helmBin == "" {
		helmBin = filepath.Join(bin, "helm")
	}
	_, err := os.Stat(helmBin)
	Expect(err).NotTo(HaveOccurred(), "bin/helm is missing: run `make helm`")
	// Helm's own files (repository cache, config) stay out of $HOME.
	helmHome = filepath.Join(repoRoot(), ".lab", labName+"-helm-home")
	Expect(os.RemoveAll(helmHome)).To(Succeed())

	labDir = filepath.Join(repoRoot(), ".lab", labName)
	logf := func(format string, args ...any) { fmt.Fprintf(GinkgoWriter, "lab: "+format+"\n", args...) }
	programs, err := lab.Programs(bin, os.Getenv("LAB_KONG"))
	Expect(err).NotTo(HaveOccurred())
	logf("data plane: %s", lab.DataPlaneName(os.Getenv("LAB_KONG")))
	// No lab.Install: the chart installs the operator and its CRDs.
	theLab, err = lab.Up(ctx, lab.Options{
		Name: labName, Dir: labDir, Assets: assets, LabBinary: filepath.Join(bin, "lab"),
		Programs: programs, Log: logf,
	})
	Expect(err).NotTo(HaveOccurred())
	k8s, err = client.New(theLab.Config, client.Options{Scheme: lab.Scheme()})
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(5*time.Minute))

var _ = AfterSuite(func() {
	if theLab == nil {
		return
	}
	theLab.Stop()
	Expect(lab.Leftovers(labName, labDir)).To(BeEmpty(), "what the lab left after teardown")
	Expect(lab.Down(context.Background(), labName, labDir)).To(Succeed())
	_ = os.RemoveAll(helmHome)
})

// helm runs bin/helm against the lab (bounded to 5 minutes) and returns
// its combined output.
func helm(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helmBin, append(args, "--kubeconfig", theLab.Kubeconfig)...)
	cmd.Env = append(os.Environ(),
		"HELM_CONFIG_HOME="+filepath.Join(helmHome, "config"),
		"HELM_CACHE_HOME="+filepath.Join(helmHome, "cache"),
		"HELM_DATA_HOME="+filepath.Join(helmHome, "data"),
		"HELM_CONTENT_CACHE="+filepath.Join(helmHome, "content"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	fmt.Fprintf(GinkgoWriter, "$ helm %v\n%s", args, out.String())
	if err != nil {
		return out.String(), fmt.Errorf("helm %v: %w: %s", args, err, out.String())
	}
	return out.String(), nil
}

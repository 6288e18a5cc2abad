// Package envtestenv starts what the envtest suites run the operator
// against: a kube-apiserver and etcd from the repository's own build
// (hack/build-kube-binaries.sh), the Drawbridge CRDs plus a chosen set of
// Gateway API CRDs, and a manager set up as the operator's own.
package envtestenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/controllers"
)

// kubeVersion is the Kubernetes release `make kube-binaries` builds; its
// binaries are under bin/k8s/<version> when KUBEBUILDER_ASSETS is unset.
const kubeVersion = "v1.36.3"

// RepoRoot is the directory of the repository's go.mod, found from the
// working directory up (nested modules under hack/ are passed over).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !strings.Contains(dir, "hack") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// GatewayAPICRDs is the directory of one channel's CRDs ("standard" or
// "experimental") of the pinned Gateway API module. GATEWAY_API_CRDS, which
// the Makefile sets to the experimental channel, saves running go list.
func GatewayAPICRDs(channel string) (string, error) {
	if dir := os.Getenv("GATEWAY_API_CRDS"); dir != "" {
		return filepath.Join(filepath.Dir(dir), channel), nil
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		return "", fmt.Errorf("locate the sigs.k8s.io/gateway-api module: %w", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "config", "crd", channel), nil
}

// Scheme holds every kind the operator reads and writes.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(gwv1.Install(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	return s
}

// Start runs an API server with the Drawbridge CRDs and the CRDs in
// crdDirs installed. Stop the returned environment when done.
func Start(root string, crdDirs ...string) (*envtest.Environment, *rest.Config, error) {
	return StartWith(root, nil, crdDirs...)
}

// StartWith is Start with a chance to configure the environment (API
// server flags, for example) before it starts; configure may be nil.
func StartWith(root string, configure func(*envtest.Environment), crdDirs ...string) (*envtest.Environment, *rest.Config, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin", "k8s", kubeVersion)
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		return nil, nil, fmt.Errorf("Kubernetes test binaries are missing (%v): run `make kube-binaries` (or `make test`)", err)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     append([]string{filepath.Join(root, "config", "crd", "bases")}, crdDirs...),
		ErrorIfCRDPathMissing: true,
	}
	if configure != nil {
		configure(env)
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("start envtest: %w", err)
	}
	return env, cfg, nil
}

// NewManager is a manager configured like the operator's (its cache
// options), without metrics or health endpoints.
func NewManager(cfg *rest.Config, scheme *runtime.Scheme) (ctrl.Manager, error) {
	return ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  controllers.CacheOptions(),
	})
}

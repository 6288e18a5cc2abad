// Package envtest runs the Drawbridge controllers against a real
// kube-apiserver and etcd (built from source by hack/build-kube-binaries.sh)
// with the Gateway API and Drawbridge CRDs installed. No kubelet or
// controller-manager runs, so the tests play the parts of the load-balancer
// controller and the Deployment controller by writing status themselves.
package envtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/controllers"
	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
)

const operatorNamespace = "drawbridge-system"

// replicaCheckPeriod is how often the operator asks replicas for the
// configuration they hold in this suite.
const replicaCheckPeriod = 500 * time.Millisecond

var (
	k8s client.Client
	// managerCache is the operator's informer cache, to check what it holds.
	managerCache cache.Cache
	// configs holds what the operator translated for each Gateway.
	configs = dataplane.NewStore()
	// pushMetrics are the operator's data-plane metrics, on a private registry.
	pushMetrics = dataplane.NewMetrics(prometheus.NewRegistry())
	testEnv     *envtest.Environment
	cancel      context.CancelFunc
	scheme      = runtime.NewScheme()
)

func TestEnvtest(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Drawbridge controllers (envtest)")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(gwv1.Install(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))

	root := repoRoot()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin", "k8s", "v1.36.3")
	}
	Expect(filepath.Join(assets, "kube-apiserver")).To(BeAnExistingFile(),
		"Kubernetes test binaries are missing: run `make kube-binaries` (or `make test`)")
	testEnv = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths: []string{
			filepath.Join(root, "config", "crd", "bases"),
			gatewayAPICRDs(),
		},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())

	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  controllers.CacheOptions(),
	})
	Expect(err).NotTo(HaveOccurred())
	managerCache = mgr.GetCache()
	Expect(k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}})).To(Succeed())
	var ctx context.Context
	ctx, cancel = context.WithCancel(context.Background())
	Expect(controllers.Setup(ctx, mgr, controllers.Options{
		OperatorNamespace: operatorNamespace,
		OperatorPodLabels: map[string]string{"app.kubernetes.io/name": "drawbridge"},
		Configs:           configs,
		AdminDialer:       loopbackDialer,
		Metrics:           pushMetrics,
		ProxyEnv:          []corev1.EnvVar{{Name: "HTTPS_PROXY", Value: "http://proxy.example:3128"}},
		// Short, so a replica that loses its configuration gets it back
		// within the suite's Eventually timeouts.
		ReplicaCheckPeriod: replicaCheckPeriod,
	})).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
})

var _ = AfterSuite(func() {
	if cancel != nil {
		cancel()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

func repoRoot() string {
	dir, err := os.Getwd()
	Expect(err).NotTo(HaveOccurred())
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !strings.Contains(dir, "hack") {
			return dir
		}
		parent := filepath.Dir(dir)
		Expect(parent).NotTo(Equal(dir), "go.mod not found above the test directory")
		dir = parent
	}
}

// gatewayAPICRDs finds the experimental-channel CRDs (a superset of the
// standard channel) of the pinned Gateway API module.
func gatewayAPICRDs() string {
	if dir := os.Getenv("GATEWAY_API_CRDS"); dir != "" {
		return dir
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	Expect(err).NotTo(HaveOccurred(), "locate the sigs.k8s.io/gateway-api module")
	return filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "experimental")
}

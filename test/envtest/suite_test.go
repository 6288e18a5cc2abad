// Package envtest runs the Drawbridge controllers against a real
// kube-apiserver and etcd (built from source by hack/build-kube-binaries.sh)
// with the Gateway API and Drawbridge CRDs installed. No kubelet or
// controller-manager runs, so the tests play the parts of the load-balancer
// controller and the Deployment controller by writing status themselves.
package envtest

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/drawbridge-dev/drawbridge/controllers"
	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
	"github.com/drawbridge-dev/drawbridge/internal/testutil/envtestenv"
)

const operatorNamespace = "drawbridge-system"

// replicaCheckPeriod is how often the operator asks replicas for the
// configuration they hold in this suite.
const replicaCheckPeriod = 500 * time.Millisecond

// adminTimeout bounds each admin API call of the operator in this suite:
// far more than a stand-in on loopback needs, and short enough that a
// replica made slow is reported within the suite's Eventually timeouts.
const adminTimeout = 3 * time.Second

var (
	k8s client.Client
	// managerCache is the operator's informer cache, to check what it holds.
	managerCache cache.Cache
	// configs holds what the operator translated for each Gateway.
	configs = dataplane.NewStore()
	// pushMetrics are the operator's data-plane metrics, on a private registry.
	pushMetrics = dataplane.NewMetrics(prometheus.NewRegistry())
	testEnv     *envtest.Environment
	managerDone chan struct{}
	cancel      context.CancelFunc
	scheme      *runtime.Scheme
)

func TestEnvtest(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Drawbridge controllers (envtest)")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	scheme = envtestenv.Scheme()
	root := repoRoot()
	crds, err := envtestenv.GatewayAPICRDs("experimental")
	Expect(err).NotTo(HaveOccurred())
	var cfg *rest.Config
	testEnv, cfg, err = envtestenv.Start(root, crds)
	Expect(err).NotTo(HaveOccurred())

	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	mgr, err := envtestenv.NewManager(cfg, scheme)
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
		AdminTimeout:       adminTimeout,
	})).To(Succeed())
	managerDone = make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(managerDone)
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
})

var _ = AfterSuite(func() {
	if cancel != nil {
		cancel()
		// The manager's requests must end before the API server stops:
		// it waits for requests in flight.
		Eventually(managerDone).WithTimeout(time.Minute).Should(BeClosed())
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

func repoRoot() string {
	root, err := envtestenv.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	return root
}

// Package corecrds runs the operator against an API server that serves only
// the core of the Gateway API standard channel (GatewayClass, Gateway,
// HTTPRoute, GRPCRoute, ReferenceGrant): what a cluster with an older
// standard-channel install has. It checks that the operator starts there
// and publishes only the features those CRDs allow.
package corecrds

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/pkg/features"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/controllers"
	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
)

// coreCRDs are the standard-channel CRDs this API server gets.
var coreCRDs = []string{"gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants"}

var (
	k8s     client.Client
	testEnv *envtest.Environment
	cancel  context.CancelFunc
)

func TestCoreCRDs(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Drawbridge with the core Gateway API CRDs only (envtest)")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	scheme := runtime.NewScheme()
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

	crds := GinkgoT().TempDir()
	standard := standardCRDs()
	for _, name := range coreCRDs {
		data, err := os.ReadFile(filepath.Join(standard, "gateway.networking.k8s.io_"+name+".yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(data)).To(ContainSubstring("gateway.networking.k8s.io/channel: standard"))
		Expect(os.WriteFile(filepath.Join(crds, name+".yaml"), data, 0o644)).To(Succeed())
	}
	testEnv = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases"), crds},
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
	Expect(k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "drawbridge-system"}})).To(Succeed())
	var ctx context.Context
	ctx, cancel = context.WithCancel(context.Background())
	Expect(controllers.Setup(ctx, mgr, controllers.Options{
		OperatorNamespace: "drawbridge-system",
		Configs:           dataplane.NewStore(),
	})).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	if cancel != nil {
		cancel()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

var _ = Describe("GatewayClass on a cluster with the core CRDs only", func() {
	It("publishes the features of the installed kinds and none of the others", func() {
		ctx := context.Background()
		class := &gwv1.GatewayClass{
			ObjectMeta: metav1.ObjectMeta{Name: "drawbridge-core"},
			Spec:       gwv1.GatewayClassSpec{ControllerName: gatewayapi.ControllerName},
		}
		Expect(k8s.Create(ctx, class)).To(Succeed())
		var live gwv1.GatewayClass
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, types.NamespacedName{Name: class.Name}, &live)).To(Succeed())
			g.Expect(live.Status.SupportedFeatures).NotTo(BeEmpty())
		}).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())

		var names []string
		for _, f := range live.Status.SupportedFeatures {
			names = append(names, string(f.Name))
		}
		Expect(names).To(ContainElements(string(features.SupportGateway), string(features.SupportHTTPRoute),
			string(features.SupportGRPCRoute), string(features.SupportReferenceGrant), string(features.SupportHTTPRouteQueryParamMatching)))
		for _, absent := range []features.FeatureName{features.SupportTCPRoute, features.SupportUDPRoute, features.SupportTLSRoute,
			features.SupportTLSRouteModeTerminate, features.SupportListenerSet, features.SupportBackendTLSPolicy,
			features.SupportBackendTLSPolicySANValidation, features.SupportGatewayBackendClientCertificate} {
			Expect(names).NotTo(ContainElement(string(absent)), "%s needs a CRD this cluster does not serve", absent)
		}
		Expect(len(names)).To(BeNumerically("<", len(gatewayapi.SupportedFeatures(gatewayapi.AllKindsInstalled))))
	})
})

func repoRoot() string {
	dir, err := os.Getwd()
	Expect(err).NotTo(HaveOccurred())
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		Expect(parent).NotTo(Equal(dir), "go.mod not found above the test directory")
		dir = parent
	}
}

// standardCRDs finds the standard-channel CRDs of the pinned Gateway API
// module (next to the experimental ones that make test names).
func standardCRDs() string {
	if dir := os.Getenv("GATEWAY_API_CRDS"); dir != "" {
		return filepath.Join(filepath.Dir(dir), "standard")
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	Expect(err).NotTo(HaveOccurred(), "locate the sigs.k8s.io/gateway-api module")
	return filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard")
}

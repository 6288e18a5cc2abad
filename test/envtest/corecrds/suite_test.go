// Package corecrds runs the operator against an API server that serves only
// the core of the Gateway API standard channel (GatewayClass, Gateway,
// HTTPRoute, GRPCRoute, ReferenceGrant): what a cluster with an older
// standard-channel install has. It checks that the operator starts there
// and publishes only the features those CRDs allow.
package corecrds

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/pkg/features"

	"github.com/drawbridge-dev/drawbridge/controllers"
	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/testutil/envtestenv"
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
	scheme := envtestenv.Scheme()
	root, err := envtestenv.RepoRoot()
	Expect(err).NotTo(HaveOccurred())

	crds := GinkgoT().TempDir()
	standard, err := envtestenv.GatewayAPICRDs("standard")
	Expect(err).NotTo(HaveOccurred())
	for _, name := range coreCRDs {
		data, err := os.ReadFile(filepath.Join(standard, "gateway.networking.k8s.io_"+name+".yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(data)).To(ContainSubstring("gateway.networking.k8s.io/channel: standard"))
		Expect(os.WriteFile(filepath.Join(crds, name+".yaml"), data, 0o644)).To(Succeed())
	}
	var cfg *rest.Config
	testEnv, cfg, err = envtestenv.Start(root, crds)
	Expect(err).NotTo(HaveOccurred())
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	mgr, err := envtestenv.NewManager(cfg, scheme)
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
		Expect(len(names)).To(BeNumerically("<", len(gatewayapi.SupportedFeatures(gatewayapi.AllServed()))))
	})
})

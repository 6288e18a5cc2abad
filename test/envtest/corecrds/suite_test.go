// Package corecrds runs the operator against an API server that serves only
// the core of the Gateway API standard channel (GatewayClass, Gateway,
// HTTPRoute, GRPCRoute, ReferenceGrant): what a cluster with an older
// standard-channel install has. It checks that the operator starts there
// and publishes only the features those CRDs allow: none of another kind,
// none that needs a field only the experimental channel has, and, after a
// restart on an HTTPRoute CRD without spec.parentRefs[].port (and without
// the channel annotation, as CRDs from elsewhere may be), none that needs
// that field.
package corecrds

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/pkg/consts"
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
	cfg     *rest.Config
	scheme  *runtime.Scheme
	testEnv *envtest.Environment
	// stopOperator stops the running operator and waits until it has.
	stopOperator func()
)

func TestCoreCRDs(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Drawbridge with the core Gateway API CRDs only (envtest)")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	scheme = envtestenv.Scheme()
	Expect(apiextensionsv1.AddToScheme(scheme)).To(Succeed())
	root, err := envtestenv.RepoRoot()
	Expect(err).NotTo(HaveOccurred())

	crds := GinkgoT().TempDir()
	standard, err := envtestenv.GatewayAPICRDs("standard")
	Expect(err).NotTo(HaveOccurred())
	for _, name := range coreCRDs {
		data, err := os.ReadFile(filepath.Join(standard, "gateway.networking.k8s.io_"+name+".yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(data)).To(ContainSubstring(consts.ChannelAnnotation + ": standard"))
		Expect(os.WriteFile(filepath.Join(crds, name+".yaml"), data, 0o644)).To(Succeed())
	}
	testEnv, cfg, err = envtestenv.Start(root, crds)
	Expect(err).NotTo(HaveOccurred())
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	Expect(k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "drawbridge-system"}})).To(Succeed())
	mgr, err := envtestenv.NewManager(cfg, scheme)
	Expect(err).NotTo(HaveOccurred())
	startOperator(mgr)
})

// startOperator sets the operator up on mgr (it reads the CRDs then) and
// runs it until stopOperator.
func startOperator(mgr ctrl.Manager) {
	ctx, cancel := context.WithCancel(context.Background())
	Expect(controllers.Setup(ctx, mgr, controllers.Options{
		OperatorNamespace: "drawbridge-system",
		Configs:           dataplane.NewStore(),
	})).To(Succeed())
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	stopOperator = func() { cancel(); <-done }
}

var _ = AfterSuite(func() {
	if stopOperator != nil {
		stopOperator()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// publishedFeatures waits until the class lists features that satisfy
// check, and returns them.
func publishedFeatures(name string, check func(g Gomega, names []string)) []string {
	var names []string
	Eventually(func(g Gomega) {
		var live gwv1.GatewayClass
		g.Expect(k8s.Get(context.Background(), types.NamespacedName{Name: name}, &live)).To(Succeed())
		names = nil
		for _, f := range live.Status.SupportedFeatures {
			names = append(names, string(f.Name))
		}
		check(g, names)
	}).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
	return names
}

var _ = Describe("GatewayClass on a cluster with the core CRDs only", Ordered, func() {
	const className = "drawbridge-core"
	var onStandard []string

	It("publishes the standard channel's features of the installed kinds and none of the others", func() {
		ctx := context.Background()
		class := &gwv1.GatewayClass{
			ObjectMeta: metav1.ObjectMeta{Name: className},
			Spec:       gwv1.GatewayClassSpec{ControllerName: gatewayapi.ControllerName},
		}
		Expect(k8s.Create(ctx, class)).To(Succeed())
		names := publishedFeatures(className, func(g Gomega, names []string) { g.Expect(names).NotTo(BeEmpty()) })

		// Every claimed feature of these kinds, but those that need a field
		// only the experimental channel has.
		installed := map[string]bool{"HTTPRoute": true, "GRPCRoute": true, "ReferenceGrant": true}
		var want []string
		for _, f := range gatewayapi.SupportedFeatures(gatewayapi.Served{Kind: func(k string) bool { return installed[k] }, Field: gatewayapi.AllServed().Field}) {
			if !slices.Contains(gatewayapi.ExperimentalOnlyFeatures(), features.FeatureName(f.Name)) {
				want = append(want, string(f.Name))
			}
		}
		Expect(names).To(Equal(want))
		Expect(names).To(ContainElements(string(features.SupportGateway), string(features.SupportHTTPRoute),
			string(features.SupportGRPCRoute), string(features.SupportReferenceGrant), string(features.SupportHTTPRouteQueryParamMatching),
			string(features.SupportHTTPRouteParentRefPort), string(features.SupportHTTPRouteDestinationPortMatching)))
		for _, absent := range append([]features.FeatureName{features.SupportTCPRoute, features.SupportUDPRoute, features.SupportTLSRoute,
			features.SupportTLSRouteModeTerminate, features.SupportListenerSet, features.SupportBackendTLSPolicy,
			features.SupportBackendTLSPolicySANValidation, features.SupportGatewayBackendClientCertificate}, gatewayapi.ExperimentalOnlyFeatures()...) {
			Expect(names).NotTo(ContainElement(string(absent)), "%s needs a CRD or a field this cluster does not serve", absent)
		}
		Expect(len(names)).To(BeNumerically("<", len(gatewayapi.SupportedFeatures(gatewayapi.AllServed()))))
		onStandard = names
	})

	It("drops the features whose field a replaced CRD lacks once the operator restarts", func() {
		ctx := context.Background()
		stopOperator()

		// An HTTPRoute CRD without parentRefs[].port and without the channel
		// annotation: the operator must read its schema.
		var crd apiextensionsv1.CustomResourceDefinition
		Expect(k8s.Get(ctx, types.NamespacedName{Name: "httproutes." + gwv1.GroupName}, &crd)).To(Succeed())
		delete(crd.Annotations, consts.ChannelAnnotation)
		for _, v := range crd.Spec.Versions {
			refs := v.Schema.OpenAPIV3Schema.Properties["spec"].Properties["parentRefs"]
			Expect(refs.Items.Schema.Properties).To(HaveKey("port"))
			delete(refs.Items.Schema.Properties, "port")
		}
		Expect(k8s.Update(ctx, &crd)).To(Succeed())

		// The API server now prunes the field: users cannot write it.
		route := &gwv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Name: "with-port", Namespace: "default"},
			Spec: gwv1.HTTPRouteSpec{CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{
				{Name: "gw", Port: ptr.To(gwv1.PortNumber(8080))},
			}}},
		}
		Eventually(func(g Gomega) {
			_ = k8s.Delete(ctx, route.DeepCopy())
			created := route.DeepCopy()
			g.Expect(k8s.Create(ctx, created)).To(Succeed())
			g.Expect(created.Spec.ParentRefs[0].Port).To(BeNil())
		}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())

		mgr, err := ctrl.NewManager(cfg, ctrl.Options{
			Scheme:                 scheme,
			Metrics:                metricsserver.Options{BindAddress: "0"},
			HealthProbeBindAddress: "0",
			Cache:                  controllers.CacheOptions(),
			// The first operator of this process registered the same
			// controller names.
			Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		})
		Expect(err).NotTo(HaveOccurred())
		startOperator(mgr)

		var want []string
		for _, n := range onStandard {
			if n != string(features.SupportHTTPRouteParentRefPort) && n != string(features.SupportHTTPRouteDestinationPortMatching) {
				want = append(want, n)
			}
		}
		Expect(want).To(HaveLen(len(onStandard) - 2))
		publishedFeatures(className, func(g Gomega, names []string) { g.Expect(names).To(Equal(want)) })
	})
})

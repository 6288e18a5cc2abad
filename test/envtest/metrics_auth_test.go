package envtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/drawbridge-dev/drawbridge/internal/metricsserving"
)

// The metrics endpoint in its in-cluster form: HTTPS, a bearer token checked
// by the API server, and the path authorized by the ClusterRoles that
// config/rbac ships.
var _ = Describe("Metrics endpoint authentication and authorization", Ordered, func() {
	var (
		addr       string
		ns         string
		clients    *kubernetes.Clientset
		stop       context.CancelFunc
		apiClients []*http.Client
		https      = &http.Client{
			Timeout: 10 * time.Second,
			// The endpoint's certificate is self-signed when no certificate
			// directory is given.
			Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		}
	)

	BeforeAll(func() {
		cfg := testEnv.Config
		// Connections to the API server are closed after the specs, so that
		// the API server can stop at the end of the suite without waiting on them.
		newHTTPClient := func() *http.Client {
			c, err := rest.HTTPClientFor(cfg)
			Expect(err).NotTo(HaveOccurred())
			apiClients = append(apiClients, c)
			return c
		}
		var err error
		clients, err = kubernetes.NewForConfigAndClient(cfg, newHTTPClient())
		Expect(err).NotTo(HaveOccurred())

		for _, role := range readClusterRoles(filepath.Join(repoRoot(), "config", "rbac", "metrics_reader_role.yaml")) {
			Expect(k8s.Create(context.Background(), role)).To(Succeed())
		}
		ns = newNamespace()
		for _, sa := range []string{"scraper", "stranger"} {
			Expect(k8s.Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sa}})).To(Succeed())
		}
		Expect(k8s.Create(context.Background(), &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: unique("scraper")},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "drawbridge-metrics-reader"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "scraper"}},
		})).To(Succeed())

		addr = freeLoopbackAddr()
		opts := metricsserving.Options(metricsserving.Config{BindAddress: addr, Secure: true})
		opts.ExtraHandlers = map[string]http.Handler{"/debug/drawbridge/configs": configs.Handler()}
		srv, err := metricsserver.NewServer(opts, cfg, newHTTPClient())
		Expect(err).NotTo(HaveOccurred())
		var ctx context.Context
		ctx, stop = context.WithCancel(context.Background())
		go func() {
			defer GinkgoRecover()
			Expect(srv.Start(ctx)).To(Succeed())
		}()
		Eventually(func() error {
			resp, err := https.Get("https://" + addr + "/metrics")
			if err == nil {
				resp.Body.Close()
			}
			return err
		}).Should(Succeed())
	})

	AfterAll(func() {
		if stop != nil {
			stop()
		}
		https.CloseIdleConnections()
		for _, c := range apiClients {
			c.CloseIdleConnections()
		}
	})

	token := func(sa string) string {
		tr, err := clients.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), sa,
			&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{}}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		return tr.Status.Token
	}
	status := func(path, bearer string) int {
		req, err := http.NewRequest(http.MethodGet, "https://"+addr+path, nil)
		Expect(err).NotTo(HaveOccurred())
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := https.Do(req)
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		return resp.StatusCode
	}

	It("refuses plain HTTP", func() {
		_, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/metrics")
		// A TLS server answers a plain request with a 400 or closes the
		// connection; either way no metrics are served.
		if err == nil {
			resp, _ := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/metrics")
			if resp != nil {
				defer resp.Body.Close()
				Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
			}
		}
	})

	It("rejects requests without a token", func() {
		Expect(status("/metrics", "")).To(Equal(http.StatusUnauthorized))
		Expect(status("/debug/drawbridge/configs", "")).To(Equal(http.StatusUnauthorized))
	})

	It("rejects a token that is not bound to a reader role", func() {
		Expect(status("/metrics", token("stranger"))).To(Equal(http.StatusForbidden))
	})

	It("serves metrics to the metrics reader, but not the configurations", func() {
		t := token("scraper")
		Expect(status("/metrics", t)).To(Equal(http.StatusOK))
		Expect(status("/debug/drawbridge/configs", t)).To(Equal(http.StatusForbidden))
	})

	It("serves the configurations to the config viewer", func() {
		Expect(k8s.Create(context.Background(), &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: unique("viewer")},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "drawbridge-config-viewer"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "stranger"}},
		})).To(Succeed())
		// The endpoint caches denials for 30 seconds; a fresh token is a new
		// cache key.
		Eventually(func() int { return status("/debug/drawbridge/configs", token("stranger")) }, 45*time.Second, time.Second).
			Should(Equal(http.StatusOK))
	})
})

func readClusterRoles(path string) []*rbacv1.ClusterRole {
	f, err := os.Open(path)
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	var roles []*rbacv1.ClusterRole
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		role := &rbacv1.ClusterRole{}
		if err := dec.Decode(role); err != nil {
			Expect(err.Error()).To(Equal("EOF"))
			break
		}
		Expect(role.Kind).To(Equal("ClusterRole"), "unexpected object in %s", path)
		roles = append(roles, role)
	}
	Expect(roles).NotTo(BeEmpty())
	return roles
}

func freeLoopbackAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer l.Close()
	return fmt.Sprintf("127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
}

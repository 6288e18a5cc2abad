package envtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/controllers"
	"github.com/drawbridge-dev/drawbridge/internal/certs"
	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// fullReconcileTraces are what a full reconcile of one Gateway leaves
// behind: a translation, a push outcome per replica (a POST, or the
// status check that skips one), and a status write when anything in the
// status changed; and the reconciles the replica check asked for.
type fullReconcileTraces struct {
	translations    uint64
	pushes          float64
	posts           int64
	resourceVersion string
	checkReconciles float64
}

func tracesOf(gw *gwv1.Gateway, kong *replica) fullReconcileTraces {
	GinkgoHelper()
	var m dto.Metric
	Expect(pushMetrics.TranslationSeconds.WithLabelValues(gw.Namespace, gw.Name).(prometheus.Histogram).Write(&m)).To(Succeed())
	var live gwv1.Gateway
	Expect(get(&live, gw.Namespace, gw.Name)()).To(Succeed())
	t := fullReconcileTraces{
		translations:    m.GetHistogram().GetSampleCount(),
		posts:           kong.srv.ConfigPosts(),
		resourceVersion: live.ResourceVersion,
		checkReconciles: promtestutil.ToFloat64(pushMetrics.CheckReconciles.WithLabelValues(gw.Namespace, gw.Name)),
	}
	for _, result := range []string{"ok", "skipped", "rejected", "auth_failed", "unreachable", "failed"} {
		t.pushes += pushes(gw, result)
	}
	return t
}

func replicaChecks(gw *gwv1.Gateway, result dataplane.CheckResult) func() float64 {
	return func() float64 {
		return promtestutil.ToFloat64(pushMetrics.ReplicaChecks.WithLabelValues(gw.Namespace, gw.Name, string(result)))
	}
}

// foreignPush replaces a replica's configuration behind the operator's
// back: with a client certificate of the operator's CA (the only kind the
// admin API accepts), but not through the operator's memory of what the
// replica holds.
func foreignPush(gw *gwv1.Gateway, kong *replica, configJSON []byte) {
	GinkgoHelper()
	var secret corev1.Secret
	Expect(get(&secret, operatorNamespace, controllers.CASecretName)()).To(Succeed())
	ca, err := certs.LoadCA(secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey])
	Expect(err).NotTo(HaveOccurred())
	pair, err := ca.IssueClient("envtest-foreign-client", time.Now())
	Expect(err).NotTo(HaveOccurred())
	cert, err := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
	Expect(err).NotTo(HaveOccurred())
	roots := x509.NewCertPool()
	Expect(roots.AppendCertsFromPEM(ca.CertPEM)).To(BeTrue())
	pusher := dataplane.NewPusher(dataplane.WithDialer(loopbackDialer), dataplane.WithMaxAttempts(1),
		dataplane.WithTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS12}))
	defer pusher.Close()
	names := provision.NamesFor(gw)
	res := pusher.Push(context.Background(), []dataplane.Replica{{
		Name: "foreign", Address: kong.addr, Port: provision.AdminPort, ServerName: certs.ReplicaServerName(names.Admin, gw.Namespace),
	}}, configJSON)
	Expect(res.Err()).NotTo(HaveOccurred())
	Expect(res.AllInSync()).To(BeTrue())
}

var _ = Describe("Periodic replica check", func() {
	It("asks in-sync replicas for their hash and reconciles nothing", func() {
		_, gw := programmedGateway()
		kong := startKong(gw)
		publishReplicas(gw, kong.addr)
		programmedMessage(gw, "1/1 replicas hold the current configuration")

		// The reconciles that answer the first one's own writes come to
		// an end: two looks a second apart see the same traces.
		var settled fullReconcileTraces
		Eventually(func() bool {
			now := tracesOf(gw, kong)
			same := now == settled
			settled = now
			return same
		}, "20s", "1s").Should(BeTrue())

		// Several periodic checks pass, each finding the replica in sync.
		checked := replicaChecks(gw, dataplane.CheckInSync)()
		Eventually(replicaChecks(gw, dataplane.CheckInSync)).Should(BeNumerically(">=", checked+4))
		Expect(tracesOf(gw, kong)).To(Equal(settled),
			"a check of in-sync replicas translated, pushed, wrote status or asked for a reconcile")
		Expect(replicaChecks(gw, dataplane.CheckDrifted)()).To(BeZero())
		Expect(replicaChecks(gw, dataplane.CheckUnreachable)()).To(BeZero())
	})

	It("gives a replica that restarted empty, or whose configuration was replaced, its configuration back without any event", func() {
		_, gw := programmedGateway()
		kong := startKong(gw)
		publishReplicas(gw, kong.addr)
		programmedMessage(gw, "1/1 replicas hold the current configuration")
		ours := kong.srv.ConfigurationHash()
		Expect(ours).NotTo(Equal(strings.Repeat("0", 32)))
		// Let several checks (500 ms apart) pass first: a reconcile that
		// came back by itself while the replica was catching up (2 s
		// later) must have run by then, or it, not the check, would give
		// the restarted replica its configuration back.
		Eventually(replicaChecks(gw, dataplane.CheckInSync)).Should(BeNumerically(">=", 6))

		// The container restarts in place: same address, no
		// configuration, and nothing in the cluster changes.
		reconciles := tracesOf(gw, kong).checkReconciles
		kong.restart()
		Expect(kong.srv.ConfigurationHash()).To(Equal(strings.Repeat("0", 32)))
		Eventually(kong.srv.ConfigurationHash).Should(Equal(ours))
		Expect(kong.srv.ConfigPosts()).To(Equal(int64(1)), "one push gives the configuration back")
		// The check found the replica empty (drifted) or, caught between
		// stop and start, unreachable; either way it asked for the
		// reconcile that pushed.
		Expect(tracesOf(gw, kong).checkReconciles).To(BeNumerically(">", reconciles))
		programmedMessage(gw, "1/1 replicas hold the current configuration")

		// Once the replica was seen holding it again, someone replaces the
		// configuration with another non-empty one.
		checked := replicaChecks(gw, dataplane.CheckInSync)()
		Eventually(replicaChecks(gw, dataplane.CheckInSync)).Should(BeNumerically(">", checked))
		posts := kong.srv.ConfigPosts()
		foreignPush(gw, kong, []byte(`{"_format_version":"3.0","services":[{"name":"foreign","host":"192.0.2.1","port":80}]}`))
		Expect(kong.srv.ConfigurationHash()).NotTo(Or(Equal(ours), Equal(strings.Repeat("0", 32))))
		Eventually(kong.srv.ConfigurationHash).Should(Equal(ours))
		Expect(kong.srv.ConfigPosts()).To(Equal(posts+2), "the foreign push and one repair")
		programmedMessage(gw, "1/1 replicas hold the current configuration")
	})
})

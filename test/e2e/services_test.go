package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drawbridge-dev/drawbridge/internal/lab"
)

var _ = Describe("Lab services", func() {
	It("forwards ClusterIP, NodePort and LoadBalancer traffic inside the lab", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		echoBackend(ctx, ns, "echo", 2, corev1.ProtocolTCP, "")
		Expect(applyYAML(ctx, fmt.Sprintf(`
apiVersion: v1
kind: Service
metadata: {name: echo-np, namespace: %[1]s}
spec:
  type: NodePort
  selector: {app: echo}
  ports: [{name: main, port: 8081, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: echo-lb, namespace: %[1]s}
spec:
  type: LoadBalancer
  selector: {app: echo}
  ports: [{name: main, port: 80, targetPort: 3000}]
`, ns))).To(Succeed())
		var clusterIP, np, lb corev1.Service
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "echo"}, &clusterIP)).To(Succeed())
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "echo-np"}, &np)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "echo-lb"}, &lb)).To(Succeed())
			g.Expect(lb.Status.LoadBalancer.Ingress).To(HaveLen(1))
		}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
		Expect(lb.Status.LoadBalancer.Ingress[0].IP).To(HavePrefix("172.18.255."))

		// From the node namespace, where lab addresses are routable; at most
		// 120 requests per address in 30s.
		c := podClient()
		for _, addr := range []string{
			net.JoinHostPort(clusterIP.Spec.ClusterIP, "8080"),
			net.JoinHostPort(lab.NodeIP, strconv.Itoa(int(np.Spec.Ports[0].NodePort))),
			net.JoinHostPort(lb.Status.LoadBalancer.Ingress[0].IP, "80"),
		} {
			pods := map[string]bool{}
			Eventually(func(g Gomega) {
				code, echo, err := request(c, "http://"+addr+"/", "svc.example.com", nil)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(code).To(Equal(http.StatusOK))
				pods[echo.Pod] = true
				g.Expect(pods).To(HaveLen(2), "both endpoints answer through %s", addr)
			}).WithTimeout(30*time.Second).WithPolling(250*time.Millisecond).Should(Succeed(), "through %s", addr)
		}

		// And from the host, only through the 127.0.0.1 forward.
		var forward string
		Eventually(func() bool {
			var ok bool
			forward, ok = theLab.Proxy.HostAddr(ns, "echo-lb", 80, corev1.ProtocolTCP)
			return ok
		}).WithTimeout(30 * time.Second).Should(BeTrue())
		Expect(forward).To(HavePrefix("127.0.0.1:"))
		eventuallyEcho(httpClient(), "http://"+forward+"/", "svc.example.com", nil, "echo-")
	}, NodeTimeout(2*time.Minute))
})

package e2e

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var _ = Describe("Lab node", func() {
	It("fails a pod whose image has no program like a failed pull", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "unknown", Namespace: ns},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
		}
		Expect(k8s.Create(ctx, pod)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
			g.Expect(pod.Status.Phase).To(Equal(corev1.PodPending))
			g.Expect(pod.Status.ContainerStatuses).To(HaveLen(1))
			w := pod.Status.ContainerStatuses[0].State.Waiting
			g.Expect(w).NotTo(BeNil())
			g.Expect(w.Reason).To(BeElementOf("ErrImagePull", "ImagePullBackOff"))
			g.Expect(w.Message).To(ContainSubstring("nginx:1.27"))
		}).WithTimeout(30 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	}, NodeTimeout(time.Minute))

	It("restarts a crashing container and counts the restarts", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		// echo-basic's UDP mode exits at once on a port it cannot parse.
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "crash", Namespace: ns},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "echo", Image: "registry.k8s.io/gateway-api/echo-basic:v1.5.1",
				Env: []corev1.EnvVar{{Name: "UDP_ECHO_SERVER", Value: "1"}, {Name: "UDP_PORT", Value: "not-a-port"}},
			}}},
		}
		Expect(k8s.Create(ctx, pod)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
			g.Expect(pod.Status.ContainerStatuses).To(HaveLen(1))
			st := pod.Status.ContainerStatuses[0]
			g.Expect(st.RestartCount).To(BeNumerically(">=", 2))
			g.Expect(st.LastTerminationState.Terminated).NotTo(BeNil())
			g.Expect(st.LastTerminationState.Terminated.ExitCode).NotTo(BeZero())
			g.Expect(st.Ready).To(BeFalse())
		}).WithTimeout(45 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	}, NodeTimeout(time.Minute))
})

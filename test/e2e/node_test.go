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

	It("runs exec probes inside the container and restarts it when liveness fails", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		probe := func(cmd ...string) *corev1.Probe {
			return &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: cmd}},
				PeriodSeconds: 1, FailureThreshold: 2, TimeoutSeconds: 2,
			}
		}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "probed", Namespace: ns},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "echo", Image: "registry.k8s.io/gateway-api/echo-basic:v1.5.1",
				// Runs in the container's namespaces: the hostname is the pod's.
				ReadinessProbe: probe("/bin/sh", "-c", "test \"$(hostname)\" = probed"),
				LivenessProbe:  probe("/bin/false"),
			}}},
		}
		Expect(k8s.Create(ctx, pod)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
			g.Expect(pod.Status.ContainerStatuses).To(HaveLen(1))
			g.Expect(pod.Status.ContainerStatuses[0].RestartCount).To(BeNumerically(">=", 1))
		}).WithTimeout(45*time.Second).WithPolling(250*time.Millisecond).Should(Succeed(), "liveness failure restarts the container")
		var events corev1.EventList
		Expect(k8s.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
		reasons := map[string]bool{}
		for _, e := range events.Items {
			reasons[e.Reason] = true
		}
		Expect(reasons).To(HaveKey("Unhealthy"))
	}, NodeTimeout(time.Minute))

	It("marks a container ready only when its exec readiness probe passes in the pod", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "ready-probe", Namespace: ns},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "echo", Image: "registry.k8s.io/gateway-api/echo-basic:v1.5.1",
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c", "test \"$(hostname)\" = ready-probe"}}},
					PeriodSeconds: 1,
				},
			}}},
		}
		Expect(k8s.Create(ctx, pod)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
			g.Expect(pod.Status.ContainerStatuses).To(HaveLen(1))
			g.Expect(pod.Status.ContainerStatuses[0].Ready).To(BeTrue())
			g.Expect(pod.Status.PodIP).To(HavePrefix("10.244."))
		}).WithTimeout(30 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	}, NodeTimeout(time.Minute))
})

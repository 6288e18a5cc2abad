package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/rand"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/lab"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// applyYAML applies a multi-document YAML string.
func applyYAML(ctx context.Context, doc string) error {
	var objs []*unstructured.Unstructured
	for _, part := range strings.Split(doc, "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal([]byte(part), &u.Object); err != nil {
			return fmt.Errorf("parse %q: %w", part, err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
	return lab.ApplyObjects(ctx, k8s, objs)
}

// newNamespace creates a namespace for one test and deletes it afterwards.
func newNamespace(ctx context.Context) string {
	name := "e2e-" + rand.String(5)
	Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	DeferCleanup(func(ctx SpecContext) {
		_ = k8s.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	})
	return name
}

// echoBackend deploys the conformance echo server (HTTP on 3000) behind a
// Service of the same name on port 8080. extraEnv selects its TCP or UDP
// modes; proto is the Service protocol.
func echoBackend(ctx context.Context, ns, name string, replicas int, proto corev1.Protocol, extraEnv string) {
	Expect(applyYAML(ctx, fmt.Sprintf(`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[2]s
  namespace: %[1]s
spec:
  replicas: %[3]d
  selector:
    matchLabels: {app: %[2]s}
  template:
    metadata:
      labels: {app: %[2]s}
    spec:
      containers:
      - name: echo
        image: registry.k8s.io/gateway-api/echo-basic:v1.5.1
        env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: NAMESPACE
          valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
%[5]s
---
apiVersion: v1
kind: Service
metadata:
  name: %[2]s
  namespace: %[1]s
spec:
  selector: {app: %[2]s}
  ports:
  - name: main
    port: 8080
    targetPort: %[6]d
    protocol: %[4]s
`, ns, name, replicas, proto, extraEnv, echoPort(extraEnv)))).To(Succeed(), "deploy echo backend %s/%s", ns, name)
	Eventually(func(g Gomega) {
		var d appsv1.Deployment
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &d)).To(Succeed())
		g.Expect(d.Status.ReadyReplicas).To(BeEquivalentTo(replicas))
	}).WithTimeout(2*time.Minute).WithPolling(250*time.Millisecond).Should(Succeed(), "echo backend %s/%s ready", ns, name)
}

func echoPort(extraEnv string) int {
	if strings.Contains(extraEnv, "UDP_ECHO_SERVER") {
		return 8080
	}
	return 3000
}

// gatewayYAML is a Gateway of the shared class with the given listeners.
func gatewayYAML(ns, name, listeners string) string {
	return fmt.Sprintf(`
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: %s
  namespace: %s
spec:
  gatewayClassName: e2e
  listeners:
%s`, name, ns, listeners)
}

// waitProgrammed waits until the Gateway is Programmed and returns it.
func waitProgrammed(ctx context.Context, ns, name string) *gwv1.Gateway {
	key := client.ObjectKey{Namespace: ns, Name: name}
	Eventually(func() string {
		ok, msg := lab.GatewayProgrammed(ctx, k8s, key)
		if ok {
			return "Programmed"
		}
		return msg
	}).WithTimeout(2*time.Minute).WithPolling(250*time.Millisecond).Should(Equal("Programmed"), "Gateway %s", key)
	var gw gwv1.Gateway
	Expect(k8s.Get(ctx, key, &gw)).To(Succeed())
	return &gw
}

// hostAddr is the 127.0.0.1 address that reaches a Gateway port.
func hostAddr(gw *gwv1.Gateway, port int32, proto corev1.Protocol) string {
	svc := provision.NamesFor(gw).DataPlane
	var addr string
	Eventually(func() bool {
		var ok bool
		addr, ok = theLab.Proxy.HostAddr(gw.Namespace, svc, port, proto)
		return ok
	}).WithTimeout(30*time.Second).WithPolling(100*time.Millisecond).Should(BeTrue(), "host forward for %s/%s port %d", gw.Namespace, svc, port)
	return addr
}

// echoResponse is what the echo server answers.
type echoResponse struct {
	Path      string              `json:"path"`
	Host      string              `json:"host"`
	Headers   map[string][]string `json:"headers"`
	Namespace string              `json:"namespace"`
	Pod       string              `json:"pod"`
}

// request sends one bounded HTTP request (5s) and decodes an echo answer.
func request(client *http.Client, url, host string, headers map[string]string) (int, echoResponse, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, echoResponse{}, err
	}
	req.Host = host
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, echoResponse{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var echo echoResponse
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &echo); err != nil {
			return resp.StatusCode, echo, fmt.Errorf("not an echo answer: %q", body)
		}
	}
	return resp.StatusCode, echo, nil
}

func httpClient() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
}

func tlsClient(serverName string, roots *tlsRoots) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{ServerName: serverName, RootCAs: roots.pool, MinVersion: tls.VersionTLS12},
	}}
}

// eventuallyEcho polls (at most 240 requests in 60s) until a request is
// answered 200 by a pod whose name has the given prefix.
func eventuallyEcho(c *http.Client, url, host string, headers map[string]string, podPrefix string) {
	Eventually(func(g Gomega) {
		code, echo, err := request(c, url, host, headers)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(code).To(Equal(http.StatusOK))
		g.Expect(echo.Pod).To(HavePrefix(podPrefix))
	}).WithTimeout(60*time.Second).WithPolling(250*time.Millisecond).Should(Succeed(), "GET %s (Host %s, %v)", url, host, headers)
}

// dataPlanePods lists the ready Kong pods of a Gateway.
func dataPlanePods(ctx context.Context, gw *gwv1.Gateway) []corev1.Pod {
	var pods corev1.PodList
	Expect(k8s.List(ctx, &pods, client.InNamespace(gw.Namespace), client.MatchingLabelsSelector{
		Selector: labels.SelectorFromSet(provision.SelectorLabels(gw)),
	})).To(Succeed())
	var ready []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready = append(ready, p)
			}
		}
	}
	return ready
}

// podClient sends requests straight to one pod address from inside the
// lab's node namespace, bypassing Services: the way to check each replica.
func podClient() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true, DialContext: theLab.NodeNS().DialContext,
	}}
}

// tcpEcho opens a connection (bounded to 5s), reads the echo server's
// greeting and asks for its description.
func tcpEcho(addr string) (echoResponse, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return echoResponse{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	if _, err := r.ReadString('\n'); err != nil {
		return echoResponse{}, fmt.Errorf("greeting: %w", err)
	}
	if _, err := fmt.Fprint(conn, "TEST\n"); err != nil {
		return echoResponse{}, err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return echoResponse{}, fmt.Errorf("answer: %w", err)
	}
	var echo echoResponse
	return echo, json.Unmarshal([]byte(line), &echo)
}

// udpEcho sends one datagram and waits up to 2s for the answer.
func udpEcho(addr, payload string) (echoResponse, error) {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return echoResponse{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte(payload)); err != nil {
		return echoResponse{}, err
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		return echoResponse{}, err
	}
	var echo echoResponse
	return echo, json.Unmarshal(buf[:n], &echo)
}

func isGone(ctx context.Context, obj client.Object) bool {
	err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj)
	return apierrors.IsNotFound(err)
}

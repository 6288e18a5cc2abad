package controllers

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
)

// authFailed is a push result where web-1 refused the operator's client
// certificate and web-2's server certificate did not verify.
func authFailed() dataplane.Result {
	return dataplane.Result{InSync: 1, Total: 3, Replicas: []dataplane.Outcome{
		{Replica: dataplane.Replica{Name: "web-0"}, InSync: true},
		{Replica: dataplane.Replica{Name: "web-1"}, Err: fmt.Errorf("replica web-1: POST /config: %w",
			&dataplane.AdminAuthError{Status: 400, Reason: "The SSL certificate error"})},
		{Replica: dataplane.Replica{Name: "web-2"}, Err: fmt.Errorf("replica web-2: GET /status: %w",
			&dataplane.AdminServerCertError{Err: &tls.CertificateVerificationError{Err: errors.New("x509: certificate signed by unknown authority")}})},
	}}
}

// An admin authentication failure keeps the Gateway Pending with a message
// naming each replica and what failed; it never reads as Kong rejecting
// the configuration.
func TestProgrammedNamesAdminAuthenticationFailures(t *testing.T) {
	res := authFailed()
	s := &gatewayScope{
		gateway:     &gwv1.Gateway{},
		provisioned: true,
		ingress: &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}}}}},
		deployment: &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3)}, Status: appsv1.DeploymentStatus{AvailableReplicas: 3}},
		sync:       &res,
	}
	_, programmed := gatewayConditions(s)
	if programmed.Status != metav1.ConditionFalse || programmed.Reason != string(gwv1.GatewayReasonPending) {
		t.Fatalf("Programmed %s/%s, want False/Pending", programmed.Status, programmed.Reason)
	}
	for _, want := range []string{
		"1/3 replicas hold the current configuration",
		`web-1 (POST /config: Kong admin API refused the operator's client certificate (HTTP 400 "The SSL certificate error")`,
		"web-2 (GET /status: the replica's admin server certificate did not verify against the operator CA (x509: certificate signed by unknown authority)",
	} {
		if !strings.Contains(programmed.Message, want) {
			t.Errorf("Programmed message %q does not say %q", programmed.Message, want)
		}
	}
	if strings.Contains(programmed.Message, "rejected") {
		t.Errorf("Programmed message %q reads as a rejection", programmed.Message)
	}
}

func TestAuthFailureNote(t *testing.T) {
	if note := authFailureNote(dataplane.Result{InSync: 1, Total: 1, Replicas: []dataplane.Outcome{{InSync: true}}}); note != "" {
		t.Fatalf("note for a result without failures: %q", note)
	}
	note := authFailureNote(authFailed())
	for _, want := range []string{"admin API authentication failed on 2/3 replicas", "nothing was left out",
		"web-1: Kong admin API refused the operator's client certificate", "web-2: the replica's admin server certificate did not verify"} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q does not say %q", note, want)
		}
	}
	if strings.Contains(note, "web-0") {
		t.Errorf("note %q names a replica in sync", note)
	}
	var many dataplane.Result
	for i := range 20 {
		many.Total++
		many.Replicas = append(many.Replicas, dataplane.Outcome{Replica: dataplane.Replica{Name: fmt.Sprintf("web-%d", i)},
			Err: &dataplane.AdminAuthError{Status: 400, Reason: "No required SSL certificate was sent"}})
	}
	if note := authFailureNote(many); len(note) > maxEventNote || !strings.HasSuffix(note, "...") {
		t.Errorf("note of %d bytes, want at most %d and cut with ...", len(note), maxEventNote)
	}
}

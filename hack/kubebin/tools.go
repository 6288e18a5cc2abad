//go:build tools

// Package kubebin pins the commands built by hack/build-kube-binaries.sh.
package kubebin

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)

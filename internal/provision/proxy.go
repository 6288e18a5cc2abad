package provision

import (
	"github.com/operator-framework/operator-lib/proxy"
	corev1 "k8s.io/api/core/v1"
)

// OperatorProxyEnv returns the proxy variables set in the operator's own
// environment, for Input.ProxyEnv. It is the one function here that reads
// process state; callers read it once at start, because OLM restarts the
// operator's pods when the cluster proxy changes.
func OperatorProxyEnv() []corev1.EnvVar {
	return proxy.ReadProxyVarsFromEnv()
}

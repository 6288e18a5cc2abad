// Package olm connects the operator to the Operator Lifecycle Manager when OLM
// is the one running it. Today that is the OLM "Upgradeable" operator
// condition. Outside OLM (kustomize installs, `make run`) everything here is a
// no-op, so the operator behaves the same however it was installed.
package olm

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/go-logr/logr"
	apiv2 "github.com/operator-framework/api/pkg/operators/v2"
	"github.com/operator-framework/operator-lib/conditions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// ConditionNameEnv is set by OLM on the Deployment of every operator it
// installs; it names the OperatorCondition object the operator reports to.
const ConditionNameEnv = "OPERATOR_CONDITION_NAME"

// UnderOLM reports whether OLM installed this process.
func UnderOLM() bool { return os.Getenv(ConditionNameEnv) != "" }

// Upgradeable reports the OLM Upgradeable condition once this replica leads.
// Drawbridge keeps all its state in Kubernetes objects and every release
// reconciles the objects of the previous one, so a running leader is always
// safe to replace: it reports True. The runnable exists so that OLM gets an
// explicit answer, and so that a release that must block upgrades (say,
// during a storage-version migration) has one place to say so.
type Upgradeable struct {
	// Factory creates the condition; nil outside OLM, which makes Start a
	// no-op.
	Factory conditions.Factory
	Status  metav1.ConditionStatus
	Reason  string
	Message string
	// RetryInterval is the first wait after a failed write; it doubles up to
	// MaxRetryInterval. OLM may create the OperatorCondition after our pod
	// starts, so the first writes can fail with NotFound.
	RetryInterval    time.Duration
	MaxRetryInterval time.Duration
	Log              logr.Logger
}

var (
	_ manager.Runnable               = (*Upgradeable)(nil)
	_ manager.LeaderElectionRunnable = (*Upgradeable)(nil)
)

// NewUpgradeable returns the runnable for this process. Under OLM it writes
// through a client of its own that reads straight from the API server: the
// manager's cache refuses kinds it has no informer for, and one object read
// once does not deserve an informer.
func NewUpgradeable(cfg *rest.Config, version string, log logr.Logger) (*Upgradeable, error) {
	u := &Upgradeable{
		Status:           metav1.ConditionTrue,
		Reason:           "Ready",
		Message:          fmt.Sprintf("Drawbridge %s is running; it can be upgraded at any time", version),
		RetryInterval:    2 * time.Second,
		MaxRetryInterval: 2 * time.Minute,
		Log:              log,
	}
	if !UnderOLM() {
		return u, nil
	}
	scheme := runtime.NewScheme()
	if err := apiv2.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("register OperatorCondition types: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("create client for the OperatorCondition: %w", err)
	}
	u.Factory = conditions.InClusterFactory{Client: c}
	return u, nil
}

// NeedLeaderElection makes only the leader write the condition.
func (u *Upgradeable) NeedLeaderElection() bool { return true }

// Start writes the condition, retrying until it succeeds or ctx ends. A
// condition that cannot be written never stops the operator: the worst
// outcome is that OLM lacks our answer, which it treats as upgradeable.
func (u *Upgradeable) Start(ctx context.Context) error {
	if u.Factory == nil {
		u.Log.V(1).Info("not running under OLM; the Upgradeable condition is not reported")
		return nil
	}
	cond, err := u.Factory.NewCondition(apiv2.ConditionType(apiv2.Upgradeable))
	if err != nil {
		u.Log.Error(err, "cannot report the OLM Upgradeable condition")
		return nil
	}
	wait := u.RetryInterval
	for {
		err := cond.Set(ctx, u.Status, conditions.WithReason(u.Reason), conditions.WithMessage(u.Message))
		if err == nil {
			u.Log.Info("reported the OLM Upgradeable condition", "status", u.Status, "reason", u.Reason)
			return nil
		}
		u.Log.Error(err, "report the OLM Upgradeable condition; retrying", "after", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, u.MaxRetryInterval)
	}
}

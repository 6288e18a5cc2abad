package olm

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apiv2 "github.com/operator-framework/api/pkg/operators/v2"
	"github.com/operator-framework/operator-lib/conditions"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// objectCondition writes the condition into an OperatorCondition through a
// client, the way operator-lib's in-cluster condition does; the factory below
// differs from operator-lib's only in taking the namespace from the test
// rather than from the pod's service-account files.
type objectCondition struct {
	c        client.Client
	key      types.NamespacedName
	condType string
}

func (o objectCondition) Get(ctx context.Context) (*metav1.Condition, error) {
	var oc apiv2.OperatorCondition
	if err := o.c.Get(ctx, o.key, &oc); err != nil {
		return nil, err
	}
	return meta.FindStatusCondition(oc.Spec.Conditions, o.condType), nil
}

func (o objectCondition) Set(ctx context.Context, status metav1.ConditionStatus, opts ...conditions.Option) error {
	var oc apiv2.OperatorCondition
	if err := o.c.Get(ctx, o.key, &oc); err != nil {
		return err
	}
	cond := metav1.Condition{Type: o.condType, Status: status}
	for _, opt := range opts {
		opt(&cond)
	}
	meta.SetStatusCondition(&oc.Spec.Conditions, cond)
	return o.c.Update(ctx, &oc)
}

type testFactory struct {
	c     client.Client
	key   types.NamespacedName
	types []apiv2.ConditionType
}

func (f *testFactory) NewCondition(t apiv2.ConditionType) (conditions.Condition, error) {
	f.types = append(f.types, t)
	return objectCondition{c: f.c, key: f.key, condType: string(t)}, nil
}

func (f *testFactory) GetNamespacedName() (*types.NamespacedName, error) { return &f.key, nil }

func newClient(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	s := runtime.NewScheme()
	if err := apiv2.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).Build()
}

func TestNotUnderOLMIsNoop(t *testing.T) {
	t.Setenv(ConditionNameEnv, "")
	u, err := NewUpgradeable(&rest.Config{Host: "https://127.0.0.1:1"}, "1.2.3", logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	if u.Factory != nil {
		t.Fatal("outside OLM the runnable must not build a condition factory")
	}
	if err := u.Start(context.Background()); err != nil {
		t.Fatalf("Start outside OLM: %v", err)
	}
	if !u.NeedLeaderElection() {
		t.Error("only the leader may write the condition")
	}
}

func TestUnderOLMBuildsInClusterFactory(t *testing.T) {
	t.Setenv(ConditionNameEnv, "drawbridge.v1.2.3")
	u, err := NewUpgradeable(&rest.Config{Host: "https://127.0.0.1:1"}, "1.2.3", logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := u.Factory.(conditions.InClusterFactory); !ok {
		t.Fatalf("under OLM the factory is %T, want operator-lib's InClusterFactory", u.Factory)
	}
	if u.Status != metav1.ConditionTrue || u.Message != "Drawbridge 1.2.3 is running; it can be upgraded at any time" {
		t.Errorf("condition = %s %q", u.Status, u.Message)
	}
}

func TestStartReportsUpgradeable(t *testing.T) {
	key := types.NamespacedName{Namespace: "operators", Name: "drawbridge.v1.2.3"}
	c := newClient(t, &apiv2.OperatorCondition{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}})
	f := &testFactory{c: c, key: key}
	u := &Upgradeable{Factory: f, Status: metav1.ConditionTrue, Reason: "Ready", Message: "m",
		RetryInterval: time.Millisecond, MaxRetryInterval: time.Millisecond, Log: logr.Discard()}
	if err := u.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(f.types) != 1 || f.types[0] != apiv2.ConditionType(apiv2.Upgradeable) {
		t.Fatalf("condition types requested: %v", f.types)
	}
	got, err := (objectCondition{c: c, key: key, condType: apiv2.Upgradeable}).Get(context.Background())
	if err != nil || got == nil {
		t.Fatalf("condition not written: %v %v", got, err)
	}
	if got.Status != metav1.ConditionTrue || got.Reason != "Ready" || got.Message != "m" {
		t.Errorf("condition = %+v", got)
	}
}

// flakyCondition fails its first writes, as when OLM has not created the
// OperatorCondition yet.
type flakyCondition struct {
	failures int
	sets     int
}

func (f *flakyCondition) Get(context.Context) (*metav1.Condition, error) { return nil, nil }
func (f *flakyCondition) Set(context.Context, metav1.ConditionStatus, ...conditions.Option) error {
	f.sets++
	if f.sets <= f.failures {
		return errors.New("operatorconditions.operators.coreos.com not found")
	}
	return nil
}

type fixedFactory struct{ cond conditions.Condition }

func (f fixedFactory) NewCondition(apiv2.ConditionType) (conditions.Condition, error) {
	return f.cond, nil
}
func (f fixedFactory) GetNamespacedName() (*types.NamespacedName, error) { return nil, nil }

func TestStartRetriesUntilWritten(t *testing.T) {
	cond := &flakyCondition{failures: 3}
	u := &Upgradeable{Factory: fixedFactory{cond}, Status: metav1.ConditionTrue, Reason: "Ready",
		RetryInterval: time.Millisecond, MaxRetryInterval: 4 * time.Millisecond, Log: logr.Discard()}
	if err := u.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cond.sets != 4 {
		t.Errorf("writes = %d, want 3 failures and 1 success", cond.sets)
	}
}

func TestStartStopsWithContext(t *testing.T) {
	cond := &flakyCondition{failures: 1 << 30}
	u := &Upgradeable{Factory: fixedFactory{cond}, Status: metav1.ConditionTrue, Reason: "Ready",
		RetryInterval: time.Millisecond, MaxRetryInterval: time.Millisecond, Log: logr.Discard()}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := u.Start(ctx); err != nil {
		t.Fatalf("a condition that cannot be written must not stop the manager: %v", err)
	}
	if cond.sets == 0 {
		t.Error("no write was attempted")
	}
}

package controllers

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// Options configure the reconcilers.
type Options struct {
	OperatorNamespace string
	OperatorPodLabels map[string]string
}

// CacheOptions configure the manager's cache. Reads of kinds without an
// informer fail instead of silently starting one, so a stray typed read of a
// Secret can never pull every Secret in the cluster into memory.
func CacheOptions() cache.Options {
	return cache.Options{ReaderFailOnMissingInformer: true}
}

// Setup registers the indexes and every reconciler with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if err := SetupIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	if err := (&GatewayClassReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up GatewayClass controller: %w", err)
	}
	if err := (&GatewayReconciler{
		Client:            mgr.GetClient(),
		APIReader:         mgr.GetAPIReader(),
		Recorder:          mgr.GetEventRecorder("drawbridge"),
		OperatorNamespace: opts.OperatorNamespace,
		OperatorPodLabels: opts.OperatorPodLabels,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up Gateway controller: %w", err)
	}
	return nil
}

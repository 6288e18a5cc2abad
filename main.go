// Command drawbridge is the Drawbridge operator. With no subcommand (or
// "manager") it runs the controller manager; "translate" runs the route
// translation offline; "convert" turns Kong Ingress Controller and
// ingress-nginx manifests into Gateway API objects; "version" prints the
// version.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/controllers"
	"github.com/drawbridge-dev/drawbridge/internal/convertcli"
	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
	"github.com/drawbridge-dev/drawbridge/internal/metricsserving"
	"github.com/drawbridge-dev/drawbridge/internal/olm"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
	"github.com/drawbridge-dev/drawbridge/internal/translatecli"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	args := os.Args[1:]
	sub := "manager"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "manager":
		if err := runManager(args); err != nil {
			fmt.Fprintln(os.Stderr, "drawbridge:", err)
			os.Exit(1)
		}
	case "translate":
		batchGC()
		os.Exit(translatecli.Run(context.Background(), args, os.Stdout, os.Stderr))
	case "convert":
		os.Exit(convertcli.Run(args, os.Stdin, os.Stdout, os.Stderr))
	case "version":
		fmt.Println(version)
	default:
		fmt.Fprintf(os.Stderr, "drawbridge: unknown command %q (commands: manager, translate, convert, version)\n", sub)
		os.Exit(2)
	}
}

// Scheme returns the scheme with every type the operator reads or writes.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(gwv1.Install(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	return s
}

func runManager(args []string) error {
	fs := flag.NewFlagSet("drawbridge manager", flag.ContinueOnError)
	metricsAddr := fs.String("metrics-bind-address", ":8443", "address the metrics endpoint binds to; 0 disables it")
	metricsSecure := fs.Bool("metrics-secure", true, "serve metrics over HTTPS to authenticated, authorized clients only; false serves plain HTTP (local development)")
	metricsCertDir := fs.String("metrics-cert-dir", "", "directory with tls.crt and tls.key for the metrics endpoint (default: a self-signed certificate)")
	metricsHTTP2 := fs.Bool("metrics-http2", false, "allow HTTP/2 on the metrics endpoint")
	probeAddr := fs.String("health-probe-bind-address", ":8081", "address the health and readiness probes bind to")
	leaderElect := fs.Bool("leader-elect", false, "elect a leader so only one replica of the operator writes")
	leaderNamespace := fs.String("leader-election-namespace", "", "namespace of the leader-election Lease (default: the operator's namespace)")
	operatorNamespace := fs.String("operator-namespace", envOr("POD_NAMESPACE", "drawbridge-system"), "namespace the operator runs in")
	adminDialer := fs.String("admin-api-dialer", "pod-ip", "how Kong admin APIs are reached: pod-ip (in-cluster) or portforward (through the API server's pods/portforward, for running the operator outside the cluster; mutual TLS stays end to end)")
	replicaCheckPeriod := fs.Duration("replica-check-period", controllers.DefaultReplicaCheckPeriod, "how often every Gateway's Kong replicas are asked for the configuration they hold (one GET /status each); only a replica that lost or changed it gets its Gateway fully reconciled")
	podLabels := fs.String("operator-pod-labels", "app.kubernetes.io/name=drawbridge", "labels of the operator's pods, the only clients allowed to reach Kong admin APIs")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	operatorPodLabels, err := labels.ConvertSelectorToLabelsMap(*podLabels)
	if err != nil {
		return fmt.Errorf("--operator-pod-labels: %w", err)
	}

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	ctx := ctrl.SetupSignalHandler()
	// What the manager sets up next (the RESTMapper that tells which
	// Gateway API kinds are installed, the caches) needs the API server. An
	// operator that restarts during an outage (it gives up leadership when
	// it cannot renew its Lease) waits here instead of crash-looping.
	if err := waitForAPIServer(ctx, cfg, apiServerWaitInterval, *probeAddr); err != nil {
		return err
	}
	var dialer dataplane.Dialer
	switch *adminDialer {
	case "pod-ip":
	case "portforward":
		if dialer, err = dataplane.PortForwardDialer(cfg); err != nil {
			return fmt.Errorf("--admin-api-dialer=portforward: %w", err)
		}
	default:
		return fmt.Errorf("--admin-api-dialer=%q: want pod-ip or portforward", *adminDialer)
	}
	if *leaderNamespace == "" {
		*leaderNamespace = *operatorNamespace
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: Scheme(),
		Cache:  controllers.CacheOptions(),
		Metrics: metricsserving.Options(metricsserving.Config{
			BindAddress: *metricsAddr, Secure: *metricsSecure, CertDir: *metricsCertDir, HTTP2: *metricsHTTP2,
		}),
		HealthProbeBindAddress:  *probeAddr,
		LeaderElection:          *leaderElect,
		LeaderElectionID:        "drawbridge.gateway.drawbridge.dev",
		LeaderElectionNamespace: *leaderNamespace,
		// The process exits right after the manager stops, so handing the
		// Lease over at once is safe and spares the next leader a wait.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	configs := dataplane.NewStore()
	if err := controllers.Setup(ctx, mgr, controllers.Options{
		OperatorNamespace:  *operatorNamespace,
		OperatorPodLabels:  operatorPodLabels,
		Configs:            configs,
		AdminDialer:        dialer,
		Metrics:            dataplane.NewMetrics(ctrlmetrics.Registry),
		ProxyEnv:           provision.OperatorProxyEnv(),
		ReplicaCheckPeriod: *replicaCheckPeriod,
	}); err != nil {
		return err
	}
	// The translated configurations (private keys redacted) are served next
	// to the metrics, for inspection until they are pushed to Kong.
	if err := mgr.AddMetricsServerExtraHandler("/debug/drawbridge/configs", configs.Handler()); err != nil {
		return fmt.Errorf("serve configurations: %w", err)
	}
	upgradeable, err := olm.NewUpgradeable(cfg, version, ctrl.Log.WithName("olm"))
	if err != nil {
		return err
	}
	if err := mgr.Add(upgradeable); err != nil {
		return fmt.Errorf("add OLM Upgradeable reporter: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("add readiness check: %w", err)
	}
	ctrl.Log.WithName("setup").Info("starting manager", "version", version, "operatorNamespace", *operatorNamespace)
	return mgr.Start(ctx)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// batchGC lets the garbage collector run less often in a one-shot command
// (unless GOGC says otherwise): everything it reads stays live until the
// output is written, so the default target (collect when the heap doubles)
// repeats work that frees little. At 10,000 generated routes `drawbridge
// translate -o yaml` took 0.77-0.93 s with GOGC=300 against 1.01-1.21 s
// with the default (alternating runs on a busy 2-core machine), and peaked
// at 180 MiB of RSS instead of 148 MiB (216 MiB with -o json).
func batchGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(300)
	}
}

// Command bundlegen writes Drawbridge's OLM bundle (bundle/ and
// bundle.Dockerfile) from config/. `make bundle` runs it; see internal/bundle.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/bundle"
)

func main() {
	root := flag.String("root", ".", "repository root")
	version := flag.String("version", "", "operator version, x.y.z (required)")
	image := flag.String("image", "", "operator image (required)")
	kong := flag.String("kong-image", bundle.DefaultKongImage, "default Kong image, listed in relatedImages")
	channels := flag.String("channels", bundle.DefaultChannel, "comma-separated channels; the first is the default")
	replaces := flag.String("replaces", "", "name of the CSV this version upgrades, e.g. drawbridge.v0.1.0")
	monitoring := flag.Bool("monitoring", true, "ship config/monitoring (PrometheusRule, ServiceMonitors and the Grafana dashboard ConfigMap); OLM needs the Prometheus Operator's CRDs on the cluster for them")
	flag.Parse()

	start := time.Now()
	files, err := bundle.Generate(bundle.Options{
		Root: *root, Version: strings.TrimPrefix(*version, "v"), Image: *image, KongImage: *kong,
		Channels: strings.Split(*channels, ","), Replaces: *replaces, WithoutMonitoring: !*monitoring,
	})
	if err == nil {
		err = bundle.Write(*root, files)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bundlegen:", err)
		os.Exit(1)
	}
	fmt.Printf("bundlegen: wrote %d files for drawbridge v%s (%s) in %s\n",
		len(files), strings.TrimPrefix(*version, "v"), *image, time.Since(start).Round(time.Millisecond))
}

// Command chartgen writes Drawbridge's Helm chart (charts/drawbridge) from
// config/. `make chart` runs it; see internal/chart.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/chart"
)

func main() {
	root := flag.String("root", ".", "repository root")
	version := flag.String("version", "", "chart and operator version, x.y.z (required)")
	crds := flag.String("gateway-api-crds", "", "config/crd of the sigs.k8s.io/gateway-api module (default: found with go list -m)")
	flag.Parse()

	start := time.Now()
	err := run(*root, strings.TrimPrefix(*version, "v"), *crds)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chartgen:", err)
		os.Exit(1)
	}
	fmt.Printf("chartgen: wrote %s for drawbridge v%s in %s\n", chart.Dir, strings.TrimPrefix(*version, "v"), time.Since(start).Round(time.Millisecond))
}

func run(root, version, crds string) error {
	if crds == "" {
		var err error
		if crds, err = chart.GatewayAPICRDDir(root); err != nil {
			return err
		}
	}
	files, err := chart.Generate(chart.Options{Root: root, Version: version, GatewayAPICRDs: crds})
	if err != nil {
		return err
	}
	return chart.Write(root, files)
}

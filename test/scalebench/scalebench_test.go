package scalebench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/benchreport"
	"github.com/drawbridge-dev/drawbridge/internal/lab"
)

// results is everything one run measured.
type results struct {
	Apply       []applySample
	CLI         []cliSample
	Propagation []propagation
	Churn       *churnResult
	Fleet       *fleetResult
	KubeVersion string
}

// TestScaleBench runs the whole benchmark and writes the report to
// $SCALEBENCH_REPORT (`make bench` sets it to bench/). SCALEBENCH_STAGES
// picks stages (apply, cli, lab, fleet; default all); SCALEBENCH_FLEET sets
// the number of Gateways in the fleet (default 100).
func TestScaleBench(t *testing.T) {
	dir := os.Getenv("SCALEBENCH_REPORT")
	if dir == "" {
		t.Skip("the scale benchmark runs under `make bench` (SCALEBENCH_REPORT names the report directory)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string]bool{"apply": true, "cli": true, "lab": true, "fleet": true}
	if s := os.Getenv("SCALEBENCH_STAGES"); s != "" {
		stages = map[string]bool{}
		for _, st := range strings.Split(s, ",") {
			stages[strings.TrimSpace(st)] = true
		}
	}
	fleetSize := 100
	if s := os.Getenv("SCALEBENCH_FLEET"); s != "" {
		if fleetSize, err = strconv.Atoi(s); err != nil {
			t.Fatalf("SCALEBENCH_FLEET: %v", err)
		}
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	started := time.Now()
	machine := benchreport.DescribeMachine() // the load before the run starts
	var res results

	if stages["apply"] {
		logf("stage apply: real Kong's POST /config against configuration size")
		res.Apply = measureApply(t, map[string][]int{
			"shared":   {100, 1000, 2000, 5000, 10000},
			"per-rule": {100, 1000, 2000, 5000},
		}, 3, logf)
		writeJSON(dir, "apply.json", res.Apply)
	}
	if stages["cli"] {
		logf("stage cli: drawbridge translate end to end")
		res.CLI = measureCLI(t, filepath.Join(root, "bin", "drawbridge"), []int{100, 1000, 10000}, 3, logf)
		writeJSON(dir, "cli.json", res.CLI)
	}
	if stages["lab"] || stages["fleet"] {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Minute)
		defer cancel()
		b := upLab(t, ctx, root, logf)
		b.setUp()
		if v, err := b.cs.Discovery().ServerVersion(); err == nil {
			res.KubeVersion = v.GitVersion
		}
		kongEach := processUsage(isKong).PSSBytes // one Gateway, one replica, no routes yet
		if stages["lab"] {
			for _, lv := range []struct{ level, samples int }{{0, 30}, {100, 30}, {1000, 30}, {5000, 20}, {10000, 10}} {
				var settle time.Duration
				if lv.level > 0 {
					logf("growing the Gateway to %d routes", lv.level)
					settle = b.grow(lv.level)
				}
				p := b.measurePropagation(lv.level, lv.samples)
				p.SettleSeconds = settle.Seconds()
				if b.routes > 0 {
					p.Served, p.ServedChecked = b.checkServed(100)
				}
				res.Propagation = append(res.Propagation, p)
				writeJSON(dir, "propagation.json", res.Propagation)
				if lv.level == 1000 {
					c := b.measureChurn()
					res.Churn = &c
					writeJSON(dir, "churn.json", res.Churn)
				}
			}
		}
		if stages["fleet"] {
			if b.routes > 0 {
				b.dropBigGateway()
			}
			f := b.measureFleet(fleetSize, 50, kongEach)
			res.Fleet = &f
			writeJSON(dir, "fleet.json", res.Fleet)
		}
	}
	rep := buildReport(res, machine, root, started)
	if err := benchreport.Write(dir, rep); err != nil {
		t.Fatal(err)
	}
	logf("report written to %s", dir)
}

func versions(root string, res results) []benchreport.KV {
	commit := "unknown"
	if out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty", "--abbrev=12").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
	}
	kv := []benchreport.KV{
		{Key: "Drawbridge", Value: commit},
		{Key: "Go", Value: runtime.Version()},
		{Key: "Kong", Value: "open-source Kong " + lab.KongVersion + ", built from source by `make kong`, one worker process"},
	}
	if res.KubeVersion != "" {
		kv = append(kv, benchreport.KV{Key: "Kubernetes (lab)", Value: res.KubeVersion})
	}
	if crds := os.Getenv("GATEWAY_API_CRDS"); crds != "" {
		for _, part := range strings.Split(crds, string(os.PathSeparator)) {
			if strings.HasPrefix(part, "gateway-api@") {
				kv = append(kv, benchreport.KV{Key: "Gateway API", Value: strings.TrimPrefix(part, "gateway-api@")})
			}
		}
	}
	return kv
}

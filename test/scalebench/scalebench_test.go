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

// results is everything the report shows.
type results struct {
	Apply []applySample
	CLI   []cliSample
	Lab   *labResults
	Fleet *fleetResult
	// Stages says which commit each stage ran on, and when.
	Stages []stageRecord
}

// labResults are the single big Gateway's figures.
type labResults struct {
	Propagation []propagation
	Churn       *churnResult
	KubeVersion string
}

// TestScaleBench runs the benchmark and writes the report to
// $SCALEBENCH_REPORT (`make bench` sets it to bench/). SCALEBENCH_STAGES
// picks stages (apply, cli, lab, fleet; default all); a stage not run keeps
// the figures an earlier run saved under data/. SCALEBENCH_FLEET sets the
// number of Gateways in the fleet (default 100).
func TestScaleBench(t *testing.T) {
	dir := os.Getenv("SCALEBENCH_REPORT")
	if dir == "" {
		t.Skip("the scale benchmark runs under `make bench` (SCALEBENCH_REPORT names the report directory)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"apply", "cli", "lab", "fleet"}
	run := map[string]bool{}
	if s := os.Getenv("SCALEBENCH_STAGES"); s != "" {
		for _, st := range strings.Split(s, ",") {
			run[strings.TrimSpace(st)] = true
		}
	} else {
		for _, st := range all {
			run[st] = true
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
	commit := describeCommit(root)
	started := time.Now()
	machine := benchreport.DescribeMachine() // the load before the run starts
	var res results
	stage := func(name string, v any, measure func()) {
		if run[name] {
			at := time.Now()
			measure()
			if err := saveStage(dir, name, commit, at, v); err != nil {
				t.Fatal(err)
			}
			res.Stages = append(res.Stages, stageRecord{Stage: name, Commit: commit, Started: at.UTC().Truncate(time.Second)})
			return
		}
		rec, ok, err := loadStage(dir, name, v)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			logf("stage %s: figures of %s (commit %s) kept", name, rec.Started.Format(time.RFC3339), rec.Commit)
			res.Stages = append(res.Stages, stageRecord{Stage: name, Commit: rec.Commit, Started: rec.Started})
		}
	}

	stage("apply", &res.Apply, func() {
		logf("stage apply: real Kong's POST /config against configuration size")
		res.Apply = measureApply(t, map[string][]int{
			shapeMerged:  {100, 1000, 2000, 5000, 10000},
			shapeShared:  {100, 1000, 2000, 5000, 10000},
			shapePerRule: {100, 1000, 2000, 5000},
		}, 3, logf)
	})
	stage("cli", &res.CLI, func() {
		logf("stage cli: drawbridge translate end to end")
		res.CLI = measureCLI(t, filepath.Join(root, "bin", "drawbridge"), []int{100, 1000, 10000}, 3, logf)
	})
	var b *labBench
	lab := func() *labBench {
		if b == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Minute)
			t.Cleanup(cancel)
			b = upLab(t, ctx, root, logf)
			b.setUp()
		}
		return b
	}
	stage("lab", &res.Lab, func() {
		b := lab()
		res.Lab = &labResults{}
		if v, err := b.cs.Discovery().ServerVersion(); err == nil {
			res.Lab.KubeVersion = v.GitVersion
		}
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
			res.Lab.Propagation = append(res.Lab.Propagation, p)
			if lv.level == 1000 {
				c := b.measureChurn()
				res.Lab.Churn = &c
			}
		}
	})
	stage("fleet", &res.Fleet, func() {
		b := lab()
		b.dropBigGateway()
		f := b.measureFleet(fleetSize, 50)
		res.Fleet = &f
	})
	rep := buildReport(res, machine, root, started)
	if err := benchreport.Write(dir, rep); err != nil {
		t.Fatal(err)
	}
	logf("report written to %s", dir)
}

func describeCommit(root string) string {
	out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty", "--abbrev=12").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func versions(root string, res results) []benchreport.KV {
	kv := []benchreport.KV{
		{Key: "Drawbridge (at report time)", Value: describeCommit(root)},
		{Key: "Go", Value: runtime.Version()},
		{Key: "Kong", Value: "open-source Kong " + lab.KongVersion + ", built from source by `make kong`, one worker process"},
	}
	for _, st := range res.Stages {
		kv = append(kv, benchreport.KV{Key: "stage " + st.Stage, Value: "commit " + st.Commit + ", started " + st.Started.Format("2006-01-02 15:04 UTC")})
	}
	if res.Lab != nil && res.Lab.KubeVersion != "" {
		kv = append(kv, benchreport.KV{Key: "Kubernetes (lab)", Value: res.Lab.KubeVersion})
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

package scalebench

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/benchreport"
)

const mib = 1 << 20

func secs(s float64) string { return benchreport.FormatSeconds(s) }

func bytesOf(b uint64) string { return benchreport.FormatBytes(b) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func distRow(name string, xs []float64) []string {
	d := benchreport.Summarize(xs)
	return []string{name, fmt.Sprint(d.N), secs(d.P50), secs(d.P90), secs(d.P99), secs(d.Max)}
}

func buildReport(res results, machine benchreport.Machine, root string, started time.Time) *benchreport.Report {
	r := &benchreport.Report{
		Title:    "Drawbridge at scale on real Kong",
		Command:  "make bench",
		Machine:  machine,
		Versions: versions(root, res),
		Started:  started,
		Duration: time.Since(started),
		Intro: "Every figure below was measured by `make bench` (test/scalebench) on the machine described here, " +
			"against open-source Kong 3.9.3 built from source: directly on 127.0.0.1 for Kong's own apply cost, and " +
			"on the embedded lab (kube-apiserver, etcd and kube-controller-manager built from source, pods as local " +
			"processes) for everything that goes through the operator. The operator, Kong, the control plane, the echo " +
			"backends and the load generator share the machine's cores, so latencies include that contention. Routes " +
			"come from internal/testutil/scalegen: one path prefix each (a header match on every third), two weighted " +
			"backends, one Service for every five routes, spread over 50 namespaces; their Services' endpoints are " +
			"real echo pods, so every route is served.",
	}
	r.Sections = append(r.Sections, goals(res))
	if len(res.Apply) > 0 {
		r.Sections = append(r.Sections, applySection(res.Apply))
	}
	if res.Lab != nil {
		r.Sections = append(r.Sections, propagationSection(res.Lab.Propagation), scaleSection(res.Lab.Propagation))
		if res.Lab.Churn != nil {
			r.Sections = append(r.Sections, churnSection(*res.Lab.Churn))
		}
	}
	if res.Fleet != nil {
		r.Sections = append(r.Sections, fleetSection(*res.Fleet))
	}
	if len(res.CLI) > 0 {
		r.Sections = append(r.Sections, cliSection(res.CLI))
	}
	return r
}

func goals(res results) benchreport.Section {
	t := benchreport.Table{Header: []string{"goal (issue 16)", "measured", "verdict"}}
	var props []propagation
	var churn *churnResult
	if res.Lab != nil {
		props, churn = res.Lab.Propagation, res.Lab.Churn
	}
	for _, p := range props {
		switch p.Level {
		case 10000:
			t.Rows = append(t.Rows, []string{"a Gateway with 10,000 HTTPRoutes is accepted and served",
				fmt.Sprintf("%d of %d random routes answered 200; the last of the 10,000 served %s after their creation began", p.Served, p.ServedChecked, secs(p.SettleSeconds)),
				verdict(p.ServedChecked > 0 && p.Served == p.ServedChecked)})
		case 5000:
			changed := benchreport.Summarize(append(append([]float64(nil), p.Create...), p.Edit...))
			t.Rows = append(t.Rows, []string{"a new or changed route serves within 3 s at p99 with 5,000 routes",
				fmt.Sprintf("p99 %s (p50 %s) over %d creates and edits", secs(changed.P99), secs(changed.P50), changed.N), verdict(changed.N > 0 && changed.P99 < 3)})
			t.Rows = append(t.Rows, []string{"operator RSS under 150 MiB with 5,000 routes", bytesOf(p.OperatorRSS), verdict(p.OperatorRSS > 0 && p.OperatorRSS < 150*mib)})
		case 100:
			changed := benchreport.Summarize(append(append([]float64(nil), p.Create...), p.Edit...))
			t.Rows = append(t.Rows, []string{"a new or changed route serves within 500 ms at p99 with 100 routes",
				fmt.Sprintf("p99 %s (p50 %s) over %d creates and edits", secs(changed.P99), secs(changed.P50), changed.N), verdict(changed.N > 0 && changed.P99 < 0.5)})
		}
	}
	for _, a := range res.Apply {
		if a.Shape == shapeMerged && a.Routes == 5000 {
			m := benchreport.Summarize(a.Seconds)
			t.Rows = append(t.Rows, []string{"Kong applies a 5,000-route configuration in under 2 s",
				fmt.Sprintf("p50 %s, max %s over %d applies (%s)", secs(m.P50), secs(m.Max), m.N, bytesOf(uint64(a.Bytes))), verdict(m.N > 0 && m.Max < 2)})
		}
	}
	if c := churn; c != nil {
		t.Rows = append(t.Rows, []string{"zero non-2xx on established routes while routes and backends change",
			fmt.Sprintf("%d of %d requests failed", c.Sent-c.OK, c.Sent), verdict(c.Sent > 0 && c.Sent == c.OK)})
	}
	if f := res.Fleet; f != nil {
		t.Rows = append(t.Rows, []string{fmt.Sprintf("operator RSS under 150 MiB with %d Gateways", f.Requested),
			fmt.Sprintf("%s with %d Gateways of %d routes", bytesOf(f.OperatorRSS), f.Gateways, f.RoutesEach), verdict(f.Gateways == f.Requested && f.OperatorRSS < 150*mib)})
	}
	for _, c := range res.CLI {
		if c.Routes == 10000 && c.Format == "yaml" {
			m := benchreport.Summarize(c.Seconds)
			t.Rows = append(t.Rows, []string{"`drawbridge translate` of 10,000 routes under 1 s and 300 MiB",
				fmt.Sprintf("p50 %s, peak RSS %s", secs(m.P50), bytesOf(c.PeakRSS)), verdict(m.Max < 1 && c.PeakRSS < 300*mib)})
		}
	}
	return benchreport.Section{Title: "Goals", Tables: []benchreport.Table{t}}
}

func applySection(samples []applySample) benchreport.Section {
	t := benchreport.Table{Header: []string{"shape", "routes", "config", "Kong routes", "services", "upstreams", "targets", "served after p50", "served after max", "Kong PSS after"}}
	bySeries := map[string]*benchreport.Series{}
	var bySize []benchreport.Series
	for _, s := range samples {
		m := benchreport.Summarize(s.Seconds)
		t.Rows = append(t.Rows, []string{s.Shape, fmt.Sprint(s.Routes), bytesOf(uint64(s.Bytes)), fmt.Sprint(s.KongRoutes), fmt.Sprint(s.Services), fmt.Sprint(s.Upstreams),
			fmt.Sprint(s.Targets), secs(m.P50), secs(m.Max), bytesOf(s.KongRSS)})
		ser, ok := bySeries[s.Shape]
		if !ok {
			ser = &benchreport.Series{Name: s.Shape}
			bySeries[s.Shape] = ser
		}
		ser.Points = append(ser.Points, benchreport.Point{X: float64(s.Routes), Y: m.P50})
	}
	names := make([]string, 0, len(bySeries))
	for n := range bySeries {
		names = append(names, n)
	}
	sort.Strings(names)
	var series []benchreport.Series
	for _, n := range names {
		series = append(series, *bySeries[n])
		var pts []benchreport.Point
		for _, s := range samples {
			if s.Shape == n {
				pts = append(pts, benchreport.Point{X: float64(s.Bytes) / mib, Y: benchreport.Summarize(s.Seconds).P50})
			}
		}
		bySize = append(bySize, benchreport.Series{Name: n, Points: pts})
	}
	text := "Real Kong 3.9.3 (one worker) on 127.0.0.1, no lab: the time from `POST /config` until the worker serves the new " +
		"configuration (a probe route added to it answers), three times per size, each after a small different configuration; each shape runs on a Kong of its own, so \"Kong PSS after\" is what that shape left Kong holding. " +
		"\"merged\" is what Drawbridge generates: rules that send to the same endpoints with the same weights share one " +
		"upstream and one service, and routes that behave the same once matched share one Kong route whose expression ORs " +
		"theirs, where no route ranked between them can match the same request. The other shapes rebuild what Drawbridge " +
		"generated before, from the same objects: \"shared\" keeps one Kong route per match, and \"per-rule\" also gives " +
		"every rule a service and an upstream with its own copy of the targets. Kong checks and stores every route entity " +
		"and builds a balancer and a health checker for every upstream when a configuration loads, which is what those " +
		"counts cost."
	return benchreport.Section{Title: "Kong's cost to apply a configuration", Text: text, Tables: []benchreport.Table{t},
		Charts: []benchreport.Chart{
			{File: "kong-apply-routes.png", Title: "Kong POST /config until served, by routes", XLabel: "HTTPRoutes", YLabel: "seconds (p50)", Kind: benchreport.LineChart, Series: series,
				Guides: []benchreport.Guide{{Y: 2, Label: "goal at 5,000 routes: 2 s"}}},
			{File: "kong-apply-bytes.png", Title: "Kong POST /config until served, by size", XLabel: "configuration (MiB of JSON)", YLabel: "seconds (p50)", Kind: benchreport.ScatterChart, Series: bySize},
		}}
}

func propagationSection(ps []propagation) benchreport.Section {
	var tables []benchreport.Table
	create := benchreport.Series{Name: "create p50"}
	create99 := benchreport.Series{Name: "create p99"}
	edit99 := benchreport.Series{Name: "edit p99"}
	del99 := benchreport.Series{Name: "delete p99"}
	for _, p := range ps {
		t := benchreport.Table{Caption: fmt.Sprintf("%d generated routes on the Gateway", p.Level),
			Header: []string{"change", "n", "p50", "p90", "p99", "max"}}
		t.Rows = append(t.Rows, distRow("create (first 200)", p.Create), distRow("edit weights (first answer from the new backend)", p.Edit), distRow("delete (first 404)", p.Delete))
		if p.TimedOut > 0 {
			t.Caption += fmt.Sprintf("; %d waits ran out of their %s budget", p.TimedOut, waitBudget)
		}
		tables = append(tables, t)
		x := float64(max(p.Level, 1))
		create.Points = append(create.Points, benchreport.Point{X: x, Y: benchreport.Summarize(p.Create).P50})
		create99.Points = append(create99.Points, benchreport.Point{X: x, Y: benchreport.Summarize(p.Create).P99})
		edit99.Points = append(edit99.Points, benchreport.Point{X: x, Y: benchreport.Summarize(p.Edit).P99})
		del99.Points = append(del99.Points, benchreport.Point{X: x, Y: benchreport.Summarize(p.Delete).P99})
	}
	text := "Routes created, edited and deleted one at a time with client-go on a Gateway that already holds the " +
		"generated routes; each time is from the API call until a request through the Gateway (polled every 10 ms " +
		"from the lab's node namespace) sees the change. The 0-route level is plotted at 1."
	return benchreport.Section{Title: "Route propagation", Text: text, Tables: tables, Charts: []benchreport.Chart{{
		File: "propagation.png", Title: "Time until a change is served", XLabel: "generated HTTPRoutes on the Gateway", YLabel: "seconds",
		Kind: benchreport.LineChart, LogX: true, Series: []benchreport.Series{create, create99, edit99, del99},
		Guides: []benchreport.Guide{{Y: 3, Label: "goal at 5,000: 3 s"}, {Y: 0.5, Label: "goal at 100: 0.5 s"}},
	}}}
}

func scaleSection(ps []propagation) benchreport.Section {
	t := benchreport.Table{Header: []string{"routes", "served", "last route served after bulk creation", "config", "translation (mean)", "push to Kong (mean)",
		"translations per change", "pushes per change", "status writes per change", "operator CPU per change", "operator RSS", "Kong PSS"}}
	op := benchreport.Series{Name: "operator RSS (MiB)"}
	kg := benchreport.Series{Name: "Kong PSS (MiB)"}
	for _, p := range ps {
		served := "-"
		if p.ServedChecked > 0 {
			served = fmt.Sprintf("%d/%d", p.Served, p.ServedChecked)
		}
		settle := "-"
		if p.SettleSeconds > 0 {
			settle = secs(p.SettleSeconds)
		}
		t.Rows = append(t.Rows, []string{fmt.Sprint(p.Level), served, settle, bytesOf(uint64(p.ConfigBytes)), secs(p.TranslateSecondsMean), secs(p.PushSecondsMean),
			fmt.Sprintf("%.2f", p.Translations), fmt.Sprintf("%.2f", p.Pushes), fmt.Sprintf("%.2f", p.StatusWrites), secs(p.OperatorCPUPerChange), bytesOf(p.OperatorRSS), bytesOf(p.KongRSS)})
		x := float64(max(p.Level, 1))
		op.Points = append(op.Points, benchreport.Point{X: x, Y: float64(p.OperatorRSS) / mib})
		kg.Points = append(kg.Points, benchreport.Point{X: x, Y: float64(p.KongRSS) / mib})
	}
	text := "At each level, over that level's propagation samples: the operator's own metrics (scraped with a " +
		"ServiceAccount token bound to drawbridge-metrics-reader) give translation and push times and pushes per " +
		"change; status writes are the MODIFIED events of HTTPRoutes and Gateways seen by a watch; the operator's RSS " +
		"and CPU come from /proc, and Kong's memory is the proportional set size (PSS) of its nginx master and workers, " +
		"which counts their shared memory zones once. \"served\" is 100 random generated routes " +
		"requested once each."
	return benchreport.Section{Title: "Cost at scale", Text: text, Tables: []benchreport.Table{t}, Charts: []benchreport.Chart{{
		File: "memory.png", Title: "Resident memory by routes on one Gateway", XLabel: "generated HTTPRoutes", YLabel: "MiB",
		Kind: benchreport.LineChart, LogX: true, Series: []benchreport.Series{op, kg}, Guides: []benchreport.Guide{{Y: 150, Label: "operator goal: 150 MiB"}},
	}}}
}

func churnSection(c churnResult) benchreport.Section {
	t := benchreport.Table{Header: []string{"requests sent", "2xx", "non-2xx or errors", "rate", "duration"}}
	t.Rows = append(t.Rows, []string{fmt.Sprint(c.Sent), fmt.Sprint(c.OK), fmt.Sprint(c.Sent - c.OK), fmt.Sprintf("%.0f/s", c.RatePerSecond), secs(c.DurationSecond)})
	actions := benchreport.Table{Caption: "what changed, and when", Header: []string{"at", "change"}}
	for _, a := range c.Actions {
		actions.Rows = append(actions.Rows, []string{secs(a.AtSeconds), a.What})
	}
	tables := []benchreport.Table{t, actions}
	if len(c.Failures) > 0 {
		f := benchreport.Table{Caption: "failures", Header: []string{"answer", "count"}}
		keys := make([]string, 0, len(c.Failures))
		for k := range c.Failures {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f.Rows = append(f.Rows, []string{k, fmt.Sprint(c.Failures[k])})
		}
		tables = append(tables, f)
	}
	text := fmt.Sprintf("Steady load on %d established routes (their own backend Deployment) on the Gateway with %d "+
		"generated routes, while %d other routes were added, had their weights changed and were removed, and the "+
		"established routes' backend was scaled from 2 to 4 pods and back. Every answer that was not 2xx, and every "+
		"request that failed, is counted.", c.Established, c.Level, churnRoutes)
	return benchreport.Section{Title: "Changes under traffic", Text: text, Tables: tables}
}

func fleetSection(f fleetResult) benchreport.Section {
	t := benchreport.Table{Header: []string{"Gateways", "routes each", "all Programmed after", "served", "operator RSS", "operator CPU while idle", "Kong PSS (all)", "Kong PSS (first, alone)", "Kong processes"}}
	t.Rows = append(t.Rows, []string{fmt.Sprint(f.Gateways), fmt.Sprint(f.RoutesEach), secs(f.ProgrammedSeconds), fmt.Sprintf("%d/%d", f.Served, f.Checked),
		bytesOf(f.OperatorRSS), fmt.Sprintf("%.1f%% of a core over %s", f.IdleCPUPercent, secs(f.IdleSeconds)), bytesOf(f.KongRSS), bytesOf(f.KongEach), fmt.Sprint(f.KongProcesses)})
	p := benchreport.Table{Caption: "propagation on one Gateway of the fleet", Header: []string{"change", "n", "p50", "p90", "p99", "max"}}
	p.Rows = append(p.Rows, distRow("create", f.Propagation.Create), distRow("edit", f.Propagation.Edit), distRow("delete", f.Propagation.Delete))
	text := fmt.Sprintf("%d Gateways, each with its own Kong data plane (one replica) and %d generated routes, created one "+
		"after the other. \"served\" requests one route of each Gateway. Idle CPU is the operator's over a minute in "+
		"which nothing changed.", f.Gateways, f.RoutesEach)
	if f.Reason != "" {
		text += " Fewer Gateways ran than the " + fmt.Sprint(f.Requested) + " asked for: " + f.Reason + "."
	}
	if f.MemAvailableAfter > 0 {
		text += " With the whole fleet up, " + bytesOf(f.MemAvailableAfter) + " of memory were still available."
	}
	return benchreport.Section{Title: "A fleet of Gateways", Text: text, Tables: []benchreport.Table{t, p}}
}

func cliSection(cs []cliSample) benchreport.Section {
	t := benchreport.Table{Header: []string{"routes", "output", "input", "time p50", "time max", "peak RSS"}}
	var yamlT, jsonT benchreport.Series
	yamlT.Name, jsonT.Name = "-o yaml", "-o json"
	for _, c := range cs {
		m := benchreport.Summarize(c.Seconds)
		t.Rows = append(t.Rows, []string{fmt.Sprint(c.Routes), c.Format, bytesOf(uint64(c.InputBytes)), secs(m.P50), secs(m.Max), bytesOf(c.PeakRSS)})
		pt := benchreport.Point{X: float64(c.Routes), Y: m.P50, Label: fmt.Sprint(c.Routes)}
		if c.Format == "yaml" {
			yamlT.Points = append(yamlT.Points, pt)
		} else {
			jsonT.Points = append(jsonT.Points, pt)
		}
	}
	text := "`bin/drawbridge translate -f <generated manifest> -o yaml|json` with its output discarded, three runs " +
		"per size; peak RSS is the largest of the three as GNU time reports it (the process's own high-water mark; " +
		"Go's rusage of a child it starts itself would include the parent's, through vfork)."
	return benchreport.Section{Title: "`drawbridge translate`", Text: strings.TrimSpace(text), Tables: []benchreport.Table{t}, Charts: []benchreport.Chart{{
		File: "translate-cli.png", Title: "drawbridge translate, end to end", XLabel: "HTTPRoutes", YLabel: "seconds (p50)", Kind: benchreport.BarChart,
		Series: []benchreport.Series{yamlT, jsonT}, Guides: []benchreport.Guide{{Y: 1, Label: "goal at 10,000: 1 s"}},
	}}}
}

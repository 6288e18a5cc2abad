// Package convertcli implements `drawbridge convert`: Kong Ingress
// Controller and ingress-nginx manifests in, Gateway API and Drawbridge
// objects out, with a report of what was not converted.
package convertcli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/drawbridge-dev/drawbridge/internal/convert"
)

const usage = `Usage: drawbridge convert -f FILE|DIR... [-o DIR] [--report FILE]
                          [--gateway-class NAME] [--gateway-namespace NS] [--gateway-name NAME]

Converts Kong Ingress Controller and ingress-nginx manifests (Ingresses,
IngressClasses, Services, Secrets, KongPlugins, KongClusterPlugins,
KongConsumers, KongIngresses, TCPIngresses, UDPIngresses) into Gateway API
objects and Drawbridge KongPlugins and KongConsumers. "-f -" reads standard
input; a directory is read for *.yaml, *.yml and *.json files.

The objects go to standard output (or one file per kind under -o DIR), the
report of what was not converted to standard error (or --report FILE), one
line per item. The exit code is 0 when the input was read, even with report
items; 1 when it could not be read; 2 on usage errors.
`

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

// Run implements the convert subcommand and returns the exit code.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("convert", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() { fmt.Fprint(stderr, usage); fl.PrintDefaults() }
	def := convert.DefaultOptions()
	var files fileList
	fl.Var(&files, "f", "manifest file or directory to read (repeatable; - for stdin)")
	outDir := fl.String("o", "", "write one file per kind into this directory instead of standard output")
	reportFile := fl.String("report", "", "write the report to this file instead of standard error")
	class := fl.String("gateway-class", def.GatewayClass, "GatewayClass of the Gateways written")
	ns := fl.String("gateway-namespace", def.GatewayNamespace, "namespace of the Gateways written")
	name := fl.String("gateway-name", "", "put every route on one Gateway of this name (default: one Gateway per IngressClass, named after it)")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(files) == 0 || fl.NArg() > 0 {
		fl.Usage()
		return 2
	}
	in := &convert.Input{}
	for _, f := range files {
		if err := read(in, f, stdin); err != nil {
			fmt.Fprintf(stderr, "convert: %v\n", err)
			return 1
		}
	}
	out := convert.Convert(in, convert.Options{GatewayClass: *class, GatewayNamespace: *ns, GatewayName: *name})
	if err := writeObjects(out, *outDir, stdout); err != nil {
		fmt.Fprintf(stderr, "convert: %v\n", err)
		return 1
	}
	rep := convert.ReportText(out.Report)
	if *reportFile != "" {
		if err := os.WriteFile(*reportFile, rep, 0o644); err != nil {
			fmt.Fprintf(stderr, "convert: write report: %v\n", err)
			return 1
		}
		if len(out.Report) > 0 {
			fmt.Fprintf(stderr, "convert: %d item(s) not converted, listed in %s\n", len(out.Report), *reportFile)
		}
		return 0
	}
	_, _ = stderr.Write(rep)
	return 0
}

func read(in *convert.Input, name string, stdin io.Reader) error {
	if name == "-" {
		return in.Read("<stdin>", stdin)
	}
	st, err := os.Stat(name)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		data, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		return in.ReadBytes(name, data)
	}
	var paths []string
	err = filepath.WalkDir(name, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				paths = append(paths, p)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(paths)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := in.ReadBytes(p, data); err != nil {
			return err
		}
	}
	return nil
}

// writeObjects writes the stream to stdout, or one file per kind.
func writeObjects(out *convert.Output, dir string, stdout io.Writer) error {
	objs := out.Objects()
	if dir == "" {
		y, err := convert.YAML(objs)
		if err != nil {
			return err
		}
		_, err = stdout.Write(y)
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	byKind := map[string][]any{}
	var kinds []string
	for _, o := range objs {
		k := convert.Kind(o)
		if byKind[k] == nil {
			kinds = append(kinds, k)
		}
		byKind[k] = append(byKind[k], o)
	}
	for i, k := range kinds {
		y, err := convert.YAML(byKind[k])
		if err != nil {
			return err
		}
		// Numbered in apply order: Gateways before the routes that name them.
		file := filepath.Join(dir, fmt.Sprintf("%02d-%s.yaml", i+1, strings.ToLower(k)))
		if err := os.WriteFile(file, y, 0o644); err != nil {
			return err
		}
	}
	return nil
}

package translatecli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/drawbridge-dev/drawbridge/internal/kong"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

const usage = `Usage: drawbridge translate -f FILE... [-o yaml|json] [--gateway NAMESPACE/NAME]

Translates Gateway API manifests (GatewayClasses, Gateways, routes, Services,
EndpointSlices, Secrets, CA ConfigMaps, ReferenceGrants, Namespaces,
ListenerSets, BackendTLSPolicies) offline into the Kong declarative
configuration Drawbridge would push and the status each route and listener
would get. "-f -" reads standard input.
`

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

// Run implements the translate subcommand and returns the exit code: 0 on
// success, 1 when the input cannot be translated, 2 on usage errors.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("translate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	var files fileList
	fs.Var(&files, "f", "manifest file to read (repeatable; - for stdin)")
	output := fs.String("o", "yaml", "output format: yaml or json")
	gateway := fs.String("gateway", "", "only translate this Gateway (NAMESPACE/NAME)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(files) == 0 || fs.NArg() > 0 || (*output != "yaml" && *output != "json") {
		fs.Usage()
		return 2
	}
	if *gateway != "" && !strings.Contains(*gateway, "/") {
		fmt.Fprintf(stderr, "translate: --gateway must be NAMESPACE/NAME, got %q\n", *gateway)
		return 2
	}
	objs := &Objects{}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(stderr, "translate: %v\n", err)
			return 1
		}
		if err := readFile(objs, f); err != nil {
			fmt.Fprintf(stderr, "translate: %v\n", err)
			return 1
		}
	}
	for _, s := range objs.Skipped {
		fmt.Fprintf(stderr, "translate: ignoring %s: not an object translation reads\n", s)
	}
	reports, err := Translate(objs, *gateway, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "translate: %v\n", err)
		return 1
	}
	out, err := render(reports, *output)
	if err != nil {
		fmt.Fprintf(stderr, "translate: %v\n", err)
		return 1
	}
	if _, err := out.WriteTo(stdout); err != nil {
		fmt.Fprintf(stderr, "translate: write output: %v\n", err)
		return 1
	}
	return 0
}

func readFile(objs *Objects, name string) error {
	if name == "-" {
		return objs.Decode("<stdin>", os.Stdin)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	return objs.DecodeBytes(name, data)
}

// Translate translates every Gateway served by Drawbridge (or only the one
// named NAMESPACE/NAME) and checks each config against Kong's schema rules.
// Notes about skipped Gateways go to notes.
func Translate(objs *Objects, only string, notes io.Writer) ([]translate.Report, error) {
	snaps, skipped := objs.Snapshots()
	var reports []translate.Report
	found := false
	for _, s := range skipped {
		if only == "" || strings.HasPrefix(s, "Gateway "+only+":") {
			fmt.Fprintf(notes, "translate: skipping %s\n", s)
		}
	}
	for _, gs := range snaps {
		if only != "" && gs.Name != only {
			continue
		}
		found = true
		res, err := translate.Translate(gs.Snapshot)
		if errors.Is(err, translate.ErrNotOurGateway) {
			fmt.Fprintf(notes, "translate: skipping Gateway %s: %v\n", gs.Name, err)
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := kong.Validate(res.Config); err != nil {
			return nil, fmt.Errorf("Gateway %s: generated config fails Kong's schema rules (this is a Drawbridge bug): %w", gs.Name, err)
		}
		reports = append(reports, res.Report(gs.Name))
	}
	if only != "" && !found {
		return nil, fmt.Errorf("Gateway %s is not in the input (or its GatewayClass is missing)", only)
	}
	return reports, nil
}

// Command kustomize prints `kustomize build DIR` made with the kustomize
// module pinned in go.mod, so `make deploy` needs no kustomize binary and
// gives the same objects on every machine. With --image it also sets the
// image of the operator's manager container.
package main

import (
	"flag"
	"fmt"
	"os"

	"sigs.k8s.io/yaml"

	"github.com/drawbridge-dev/drawbridge/internal/bundle"
)

func main() {
	image := flag.String("image", "", "operator image for the manager container (default: as in config/)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: kustomize [--image IMG] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *image); err != nil {
		fmt.Fprintln(os.Stderr, "kustomize:", err)
		os.Exit(1)
	}
}

func run(dir, image string) error {
	objs, err := bundle.Kustomize(dir)
	if err != nil {
		return err
	}
	if image != "" {
		if err := bundle.SetOperatorImage(objs, image); err != nil {
			return err
		}
	}
	for i, obj := range objs {
		b, err := yaml.Marshal(obj.Object)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		if i > 0 {
			fmt.Println("---")
		}
		os.Stdout.Write(b)
	}
	return nil
}

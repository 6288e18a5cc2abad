package lab

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/drawbridge-dev/drawbridge/internal/lab/node"
)

// KongVersion is the Kong release the lab runs for the kong:3.9 images:
// open-source Kong built from source by `make kong` (hack/build-kong.sh).
const KongVersion = "3.9.3"

// The data planes a lab can run for the kong images.
const (
	// KongReal is Kong itself, the default: everything the lab measures
	// about traffic is measured on it.
	KongReal = "real"
	// KongStandin is the Go stand-in (test/kongstandin), only when asked
	// for by name; it is never a fallback for a missing Kong build.
	KongStandin = "standin"
)

// Programs returns the programs the lab runs, from a bin directory that
// `make lab-binaries kong` filled, with kong (KongReal or KongStandin)
// deciding what runs the kong images.
func Programs(bin, kong string) (node.Programs, error) {
	p := node.Programs{
		KongVersion: KongVersion,
		EchoBasic:   filepath.Join(bin, "echo-basic"),
		Drawbridge:  filepath.Join(bin, "drawbridge"),
		CoreDNS:     filepath.Join(bin, "dns-standin"),
	}
	switch kong {
	case KongReal, "":
		if _, err := os.Stat(KongInstallDir(bin) + "/.stamp"); err != nil {
			return p, fmt.Errorf("the lab runs Kong %s built from source, and %s has no finished build (make kong builds it)",
				KongVersion, KongInstallDir(bin))
		}
		p.Kong = filepath.Join(bin, "kong-launcher")
	case KongStandin:
		p.Kong = filepath.Join(bin, "kong-standin")
	default:
		return p, fmt.Errorf("unknown Kong data plane %q: want %q or %q", kong, KongReal, KongStandin)
	}
	return p, nil
}

// KongInstallDir is where `make kong` installs Kong under a bin directory.
func KongInstallDir(bin string) string { return filepath.Join(bin, "kong", KongVersion) }

// DataPlaneName says which Kong a lab's traffic went through, for reports.
func DataPlaneName(kong string) string {
	if kong == KongStandin {
		return "the Go Kong stand-in (test/kongstandin)"
	}
	return "Kong " + KongVersion + " (open source, built from source)"
}

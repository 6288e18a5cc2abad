package node

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// Programs maps the images the lab can run to local programs. There is no
// container runtime: an image is only a name for a program built on this
// machine, and an image without a program fails like a failed pull.
type Programs struct {
	// Kong runs kong:* and kong/kong:* images whose tag KongTagServed
	// accepts: the launcher of the Kong build (bin/kong-launcher), or, when
	// a lab asks for it explicitly, the Go stand-in.
	Kong string
	// KongVersion is the Kong release the Kong program is (or imitates),
	// e.g. "3.9.3": it decides which image tags the lab can honour.
	KongVersion string
	// EchoBasic is the Gateway API conformance echo server.
	EchoBasic string
	// Drawbridge is the operator binary, for drawbridge:*; drawbridge:<tag>
	// runs <Drawbridge>-<tag> instead when that file exists.
	Drawbridge string
	// CoreDNS is the DNS stand-in, for the coredns image the conformance
	// suite deploys as its UDP backend.
	CoreDNS string
}

// splitImage splits an image reference into its repository, with the tag or
// digest and the Docker Hub prefixes stripped, and its tag ("" for none) or
// digest: "docker.io/library/kong:3.9" -> "kong", "3.9", "".
func splitImage(image string) (repo, tag, digest string) {
	ref := image
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref, tag = ref[:i], ref[i+1:]
	}
	for _, prefix := range []string{"docker.io/library/", "docker.io/", "index.docker.io/library/", "index.docker.io/", "library/"} {
		if strings.HasPrefix(ref, prefix) {
			ref = strings.TrimPrefix(ref, prefix)
			break
		}
	}
	return ref, tag, digest
}

func imageRepository(image string) string {
	repo, _, _ := splitImage(image)
	return repo
}

// KongTagServed reports whether a kong image tag names the release the lab
// runs (version, e.g. "3.9.3"): the exact release or its minor line ("3.9",
// which floats to the newest patch), optionally with the official images'
// distribution suffix ("3.9-ubuntu"). Anything else (latest, another
// release, a digest the lab cannot check) would be a silent substitution,
// so it is refused with the reason.
func KongTagServed(version, tag, digest string) error {
	if digest != "" {
		return fmt.Errorf("the lab cannot check image digests; it runs Kong %s for the tags %s", version, kongTags(version))
	}
	if tag == "" {
		tag = "latest"
	}
	base, _, _ := strings.Cut(tag, "-")
	minor := version
	if parts := strings.Split(version, "."); len(parts) == 3 {
		minor = parts[0] + "." + parts[1]
	}
	if base == version || base == minor {
		return nil
	}
	return fmt.Errorf("tag %q is not Kong %s, the only Kong the lab has; use one of %s", tag, version, kongTags(version))
}

func kongTags(version string) string {
	minor := version
	if parts := strings.Split(version, "."); len(parts) == 3 {
		minor = parts[0] + "." + parts[1]
	}
	return fmt.Sprintf("%s, %s, %s-ubuntu", minor, version, minor)
}

// Resolve returns the program for an image, or an error saying which images
// the lab knows.
func (p Programs) Resolve(image string) (string, error) {
	repo, tag, digest := splitImage(image)
	if (repo == "kong" || repo == "kong/kong") && p.Kong != "" {
		if err := KongTagServed(p.KongVersion, tag, digest); err != nil {
			return "", fmt.Errorf("image %q: %w", image, err)
		}
		return p.Kong, nil
	}
	known := map[string]string{
		"kong":      p.Kong,
		"kong/kong": p.Kong,
		"gcr.io/k8s-staging-gateway-api/echo-basic": p.EchoBasic,
		"registry.k8s.io/gateway-api/echo-basic":    p.EchoBasic,
		// Gateway API v1.7's manifests: tags v0.1.0 and v0.2.0 both run the
		// v0.1.0 program, the one version the Go module proxy serves.
		"registry.k8s.io/gateway-api/conformance/echo-basic": p.EchoBasic,
		"drawbridge":                      p.Drawbridge,
		"registry.k8s.io/coredns/coredns": p.CoreDNS,
		"coredns/coredns":                 p.CoreDNS,
	}
	if repo == "drawbridge" && tag != "" && p.Drawbridge != "" {
		// Another build of the operator, e.g. a previous release for an
		// upgrade test: bin/drawbridge-<tag>, when it was built.
		if alt := p.Drawbridge + "-" + tag; fileExists(alt) {
			return alt, nil
		}
	}
	if prog, ok := known[repo]; ok && prog != "" {
		return prog, nil
	}
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	sort.Strings(names)
	return "", fmt.Errorf("the lab has no program for image %q; it runs only %s", image, strings.Join(names, ", "))
}

// imageUser is the user an image runs as when the pod does not say: what
// the USER line of each image's Dockerfile sets (kong: the kong user, 1000;
// the operator: distroless nonroot, 65532; echo-basic: root).
func imageUser(image string) (uid, gid int64) {
	switch imageRepository(image) {
	case "kong", "kong/kong":
		return 1000, 1000
	case "drawbridge":
		return 65532, 65532
	}
	return 0, 0
}

// ImageCommand maps a command an image has on its PATH to the program that
// provides it: `kong` in the kong images is the Kong program, which runs
// `kong quit` (the data plane's preStop hook) and `kong health`.
func (p Programs) ImageCommand(image, command string) (string, bool) {
	switch imageRepository(image) {
	case "kong", "kong/kong":
		if command == "kong" && p.Kong != "" {
			return p.Kong, true
		}
	}
	return "", false
}

// kongEntrypoint is the kong images' ENTRYPOINT. The Kong program is that
// entrypoint in the lab, so a container command that calls it (the data
// plane's start script does) finds the program there.
const kongEntrypoint = "/docker-entrypoint.sh"

// ImageFiles are files an image has that a container's command may call
// by path, as target path -> the program that provides it.
func (p Programs) ImageFiles(image string) map[string]string {
	switch imageRepository(image) {
	case "kong", "kong/kong":
		if p.Kong != "" {
			return map[string]string{kongEntrypoint: p.Kong}
		}
	}
	return nil
}

func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}

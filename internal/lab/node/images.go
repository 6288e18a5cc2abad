package node

import (
	"fmt"
	"sort"
	"strings"
)

// Programs maps the images the lab can run to local programs. There is no
// container runtime: an image is only a name for a program built on this
// machine, and an image without a program fails like a failed pull.
type Programs struct {
	// Kong is the Kong stand-in, for kong:* and kong/kong:*.
	Kong string
	// EchoBasic is the Gateway API conformance echo server.
	EchoBasic string
	// Drawbridge is the operator binary, for drawbridge:*.
	Drawbridge string
	// CoreDNS is the DNS stand-in, for the coredns image the conformance
	// suite deploys as its UDP backend.
	CoreDNS string
}

// imageRepository strips the tag or digest and the Docker Hub prefixes from
// an image reference: "docker.io/library/kong:3.9" -> "kong".
func imageRepository(image string) string {
	ref := image
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	for _, prefix := range []string{"docker.io/library/", "docker.io/", "index.docker.io/library/", "index.docker.io/", "library/"} {
		if strings.HasPrefix(ref, prefix) {
			ref = strings.TrimPrefix(ref, prefix)
			break
		}
	}
	return ref
}

// Resolve returns the program for an image, or an error saying which images
// the lab knows.
func (p Programs) Resolve(image string) (string, error) {
	known := map[string]string{
		"kong":      p.Kong,
		"kong/kong": p.Kong,
		"gcr.io/k8s-staging-gateway-api/echo-basic": p.EchoBasic,
		"registry.k8s.io/gateway-api/echo-basic":    p.EchoBasic,
		"drawbridge":                                p.Drawbridge,
		"registry.k8s.io/coredns/coredns":           p.CoreDNS,
		"coredns/coredns":                           p.CoreDNS,
	}
	if prog, ok := known[imageRepository(image)]; ok && prog != "" {
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
// stands in for it: `kong` in the kong images is the Kong stand-in, which
// implements `kong quit` for the data plane's preStop hook.
func (p Programs) ImageCommand(image, command string) (string, bool) {
	switch imageRepository(image) {
	case "kong", "kong/kong":
		if command == "kong" && p.Kong != "" {
			return p.Kong, true
		}
	}
	return "", false
}

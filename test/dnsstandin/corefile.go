package dnsstandin

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/miekg/dns"
)

// ServerBlock is one "zone:port { ... }" block of a Corefile.
type ServerBlock struct {
	// Zones are fully qualified, lower-case zone names ("." for the root).
	Zones []string
	Port  int
	// Plugins are the directives of the block in order, with their
	// arguments.
	Plugins []Directive
}

// Directive is one plugin line of a server block.
type Directive struct {
	Name string
	Args []string
}

// supportedPlugins are the plugins the stand-in implements.
var supportedPlugins = map[string]bool{"whoami": true, "forward": true, "log": true, "errors": true}

// ParseCorefile reads the server blocks of a Corefile. It understands the
// subset the conformance suite uses: one or more comma- or space-separated
// "zone[:port]" keys (a key without a port takes the block's port, 53 by
// default), then a brace block of one directive per line, with
// '#' comments. Directives with sub-blocks are rejected.
func ParseCorefile(r io.Reader) ([]ServerBlock, error) {
	var blocks []ServerBlock
	var cur *ServerBlock
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		if cur == nil {
			keys, ok := strings.CutSuffix(text, "{")
			if !ok {
				return nil, fmt.Errorf("Corefile line %d: expected \"zone[:port] {\", got %q", line, text)
			}
			b, err := parseKeys(strings.TrimSpace(keys))
			if err != nil {
				return nil, fmt.Errorf("Corefile line %d: %w", line, err)
			}
			cur = &b
			continue
		}
		if text == "}" {
			blocks = append(blocks, *cur)
			cur = nil
			continue
		}
		if strings.ContainsAny(text, "{}") {
			return nil, fmt.Errorf("Corefile line %d: plugin blocks are not supported by the stand-in: %q", line, text)
		}
		fields := strings.FieldsFunc(text, unicode.IsSpace)
		if !supportedPlugins[fields[0]] {
			return nil, fmt.Errorf("Corefile line %d: plugin %q is outside the DNS stand-in's scope (it serves whoami, forward, log and errors, the plugins the conformance suite's Corefile uses)", line, fields[0])
		}
		cur.Plugins = append(cur.Plugins, Directive{Name: fields[0], Args: fields[1:]})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fmt.Errorf("Corefile: server block for %v is not closed", cur.Zones)
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("Corefile: no server block")
	}
	return blocks, nil
}

func parseKeys(keys string) (ServerBlock, error) {
	b := ServerBlock{Port: 53}
	explicit := 0
	for _, key := range strings.FieldsFunc(keys, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		key = strings.TrimPrefix(key, "dns://")
		zone, port := key, ""
		if j := strings.LastIndexByte(key, ':'); j >= 0 {
			zone, port = key[:j], key[j+1:]
		}
		if port != "" {
			p, err := strconv.Atoi(port)
			if err != nil || p < 1 || p > 65535 {
				return b, fmt.Errorf("invalid port in %q", key)
			}
			if explicit != 0 && p != explicit {
				return b, fmt.Errorf("keys of one block name different ports")
			}
			explicit, b.Port = p, p
		}
		if zone == "" {
			zone = "."
		}
		b.Zones = append(b.Zones, dns.CanonicalName(zone))
	}
	if len(b.Zones) == 0 {
		return b, fmt.Errorf("server block without a zone")
	}
	return b, nil
}

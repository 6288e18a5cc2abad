package netpol

import (
	"fmt"
	"slices"
	"strings"
)

// Table is the nftables table the lab owns in every pod namespace (family
// inet); nothing else in a pod namespace is touched.
const Table = "dblab_netpol"

// Ruleset renders a plan as an nft script. Applied with `nft -f -` it
// creates the table if missing, deletes it and defines it anew in one
// transaction, so a pod never runs with half a ruleset.
func Ruleset(p Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# ingress NetworkPolicy of pod %s, written by the lab node\n", p.Pod)
	fmt.Fprintf(&b, "table inet %s\ndelete table inet %s\ntable inet %s {\n", Table, Table, Table)
	b.WriteString("\tchain ingress {\n\t\ttype filter hook input priority filter; policy accept;\n")
	if !p.Isolated {
		b.WriteString("\t\t# not isolated: no NetworkPolicy with Ingress selects this pod\n\t}\n}\n")
		return b.String()
	}
	fmt.Fprintf(&b, "\t\t# isolated by %s\n", strings.Join(p.Policies, ", "))
	b.WriteString("\t\tiif \"lo\" accept\n")
	b.WriteString("\t\tct state established,related accept\n")
	for _, r := range p.Rules {
		fmt.Fprintf(&b, "\t\t# %s ingress[%d]\n", r.Policy, r.Index)
		for _, u := range r.Unresolved {
			fmt.Fprintf(&b, "\t\t# %s\n", oneLine(u))
		}
		sources := r.sourceMatches()
		ports := r.portMatches()
		if len(sources) == 0 {
			b.WriteString("\t\t# no source: no peer selected\n")
			continue
		}
		if len(ports) == 0 {
			b.WriteString("\t\t# no port of this pod\n")
			continue
		}
		for _, s := range sources {
			for _, pm := range ports {
				fmt.Fprintf(&b, "\t\t%s\n", strings.Join(slices.DeleteFunc([]string{s, pm, "accept"}, func(x string) bool { return x == "" }), " "))
			}
		}
	}
	b.WriteString("\t\tcounter drop comment \"not admitted by any NetworkPolicy\"\n\t}\n}\n")
	return b.String()
}

// sourceMatches are the nft source expressions of a rule, one per line to
// write; [""] means any source, nil none.
func (r Rule) sourceMatches() []string {
	if r.AnySource {
		return []string{""}
	}
	var out []string
	var v4, v6 []string
	for _, a := range r.Addrs {
		if a.Is4() {
			v4 = append(v4, a.String())
		} else {
			v6 = append(v6, a.String())
		}
	}
	if len(v4) > 0 {
		out = append(out, "ip saddr { "+strings.Join(v4, ", ")+" }")
	}
	if len(v6) > 0 {
		out = append(out, "ip6 saddr { "+strings.Join(v6, ", ")+" }")
	}
	for _, bl := range r.Blocks {
		family := "ip"
		if !bl.CIDR.Addr().Is4() {
			family = "ip6"
		}
		s := family + " saddr " + bl.CIDR.String()
		var except []string
		for _, e := range bl.Except {
			if e.Addr().Is4() == bl.CIDR.Addr().Is4() {
				except = append(except, e.String())
			}
		}
		if len(except) > 0 {
			s = family + " saddr != { " + strings.Join(except, ", ") + " } " + s
		}
		out = append(out, s)
	}
	return out
}

// portMatches are the nft port expressions of a rule; [""] means any port
// of any protocol, nil none.
func (r Rule) portMatches() []string {
	if r.AnyPort {
		return []string{""}
	}
	var out []string
	for _, p := range r.Ports {
		proto := strings.ToLower(string(p.Protocol))
		switch {
		case p.From == 0:
			out = append(out, "meta l4proto "+proto)
		case p.To > p.From:
			out = append(out, fmt.Sprintf("%s dport %d-%d", proto, p.From, p.To))
		default:
			out = append(out, fmt.Sprintf("%s dport %d", proto, p.From))
		}
	}
	return out
}

// oneLine keeps text from the API inside its comment line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

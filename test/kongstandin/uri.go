package kongstandin

import (
	"fmt"
	"strings"
)

// reservedChars are the octets Kong keeps percent-encoded
// (RESERVED_CHARS in kong/tools/uri.lua).
const reservedChars = "!*'();:@&=+$,/?%#[]"

// normalizePath normalizes a request path the way Kong does before routing
// (kong.tools.uri normalize with merge_slashes): every percent-escape of an
// octet that is not reserved is decoded, unreserved characters and "others"
// alike (so "/a%20b" routes as "/a b" and "%C3%A9" as the raw UTF-8 bytes),
// escapes of reserved octets are upper-cased, dot segments are removed and
// repeated slashes merged.
func normalizePath(escaped string) string {
	var b strings.Builder
	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		if c == '%' && i+2 < len(escaped) && isHex(escaped[i+1]) && isHex(escaped[i+2]) {
			v := unhex(escaped[i+1])<<4 | unhex(escaped[i+2])
			if strings.IndexByte(reservedChars, v) < 0 {
				b.WriteByte(v)
			} else {
				b.WriteString(strings.ToUpper(escaped[i : i+3]))
			}
			i += 2
			continue
		}
		b.WriteByte(c)
	}
	p := b.String()
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		case "":
			if last {
				out = append(out, "") // keep a trailing slash
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

// escapePath makes a normalized path safe to send upstream as Kong does
// (kong.tools.uri escape, applied to upstream_uri in the access phase):
// every octet outside !#$&'()*+,/:;=?@[] letters, digits, -_.~ and % is
// percent-encoded in upper case; existing escapes stay as they are.
func escapePath(p string) string {
	const keep = "!#$&'()*+,/:;=?@[]-_.~%"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// upstreamURI computes the upstream path with Kong's path_handling v0
// (reference 4.3, get_upstream_uri_v0). matched is the http.path value the
// router matched ("" if no http.path predicate matched).
func upstreamURI(reqPath, matched string, strip bool, base string) string {
	if base == "" {
		base = "/"
	}
	var postfix string
	if strip && matched != "" {
		if len(matched) <= len(reqPath) {
			postfix = reqPath[len(matched):]
		}
	} else {
		postfix = strings.TrimPrefix(reqPath, "/")
	}
	endsSlash := strings.HasSuffix(reqPath, "/")
	if strings.HasSuffix(base, "/") {
		if !strip {
			return base + strings.TrimPrefix(reqPath, "/")
		}
		switch {
		case postfix == "":
			if base == "/" {
				return "/"
			}
			if endsSlash {
				return base
			}
			return base[:len(base)-1]
		case postfix[0] == '/':
			return base[:len(base)-1] + postfix
		default:
			return base + postfix
		}
	}
	if !strip {
		if reqPath == "/" {
			return base
		}
		return base + reqPath
	}
	switch {
	case postfix == "":
		if len(reqPath) > 1 && endsSlash {
			return base + "/"
		}
		return base
	case postfix[0] == '/':
		return base + postfix
	default:
		return base + "/" + postfix
	}
}

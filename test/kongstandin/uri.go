package kongstandin

import "strings"

// normalizePath normalizes a request path the way Kong does before routing
// (kong.tools.uri normalize with merge_slashes): percent-escapes of
// characters that are not reserved are decoded, remaining escapes are
// upper-cased, dot segments are removed and repeated slashes merged.
func normalizePath(escaped string) string {
	var b strings.Builder
	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		if c == '%' && i+2 < len(escaped) && isHex(escaped[i+1]) && isHex(escaped[i+2]) {
			v := unhex(escaped[i+1])<<4 | unhex(escaped[i+2])
			if v >= 0x21 && v < 0x7f && !strings.ContainsRune(":/?#[]@!$&'()*+,;=%", rune(v)) {
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

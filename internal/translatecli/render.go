package translatecli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"

	"github.com/drawbridge-dev/drawbridge/internal/translate"
	"github.com/drawbridge-dev/drawbridge/internal/yamlfast"
)

// Render prints reports as YAML documents or a JSON array.
func Render(reports []translate.Report, format string) ([]byte, error) {
	out, err := render(reports, format)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := out.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// render renders every report before anything is written, so a report that
// cannot be rendered leaves no partial output.
func render(reports []translate.Report, format string) (io.WriterTo, error) {
	if format == "json" {
		if reports == nil {
			reports = []translate.Report{}
		}
		data, err := json.Marshal(reports)
		if err != nil {
			return nil, err
		}
		return indentedJSON(data), nil
	}
	// yamlfast writes the same bytes as sigs.k8s.io/yaml.Marshal, which
	// renders JSON and converts it, at a fraction of the cost.
	var out yamlfast.Buffer
	for i, r := range reports {
		if i > 0 {
			out.WriteString("---\n")
		}
		if err := out.Marshal(r); err != nil {
			return nil, err
		}
	}
	return &out, nil
}

// indentedJSON is compact JSON from encoding/json that writes itself as
// json.MarshalIndent(v, "", "  ") plus a final line break would, without
// holding the indented copy in memory: for large reports that copy is the
// largest allocation of the whole run.
type indentedJSON []byte

func (data indentedJSON) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	depth := 0
	newline := func() {
		bw.WriteByte('\n')
		for i := 0; i < depth; i++ {
			bw.WriteString("  ")
		}
	}
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			// Copy the string, escapes included, up to its closing quote.
			j := i + 1
			for ; data[j] != '"'; j++ {
				if data[j] == '\\' {
					j++
				}
			}
			bw.Write(data[i : j+1])
			i = j
		case '{', '[':
			if next := data[i+1]; next == '}' || next == ']' {
				bw.Write(data[i : i+2]) // empty collections stay on one line
				i++
				continue
			}
			bw.WriteByte(c)
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			bw.WriteByte(c)
		case ',':
			bw.WriteByte(c)
			newline()
		case ':':
			bw.WriteString(": ")
		default:
			bw.WriteByte(c)
		}
	}
	bw.WriteByte('\n')
	err := bw.Flush()
	return cw.n, err
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

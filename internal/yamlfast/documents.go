package yamlfast

import (
	"bytes"
	"fmt"
	"io"
)

// DocumentReader splits a multi-document YAML stream held in memory exactly
// as k8s.io/apimachinery's YAMLReader splits one it reads line by line, but
// returns documents as slices of the input where it can instead of copying
// every line.
type DocumentReader struct {
	rest []byte
}

// NewDocumentReader reads documents from data.
func NewDocumentReader(data []byte) *DocumentReader {
	return &DocumentReader{rest: data}
}

// Read returns the next document, or io.EOF after the last. As in
// YAMLReader, a "---" line ends the document before it (and is dropped) but
// is kept at the start of a document, lines end in "\n" even where the input
// had "\r\n" or no line break, and text after "---" other than a comment is
// an error.
func (r *DocumentReader) Read() ([]byte, error) {
	start := r.rest
	var doc []byte  // set once the document had to be copied
	contiguous := 0 // length of the document while it is still a slice of start
	for len(r.rest) > 0 {
		text, next, terminated := cutLine(r.rest)
		if bytes.HasPrefix(text, []byte("---")) {
			if after := bytes.TrimSpace(text[3:]); len(after) > 0 && after[0] != '#' {
				r.rest = next
				return nil, fmt.Errorf("invalid Yaml document separator: %s", after)
			}
			if doc != nil || contiguous > 0 {
				r.rest = next
				if doc != nil {
					return doc, nil
				}
				return start[:contiguous], nil
			}
		}
		// The line joins the document as text plus "\n": a slice of the
		// input when the input has exactly that.
		exact := terminated && len(r.rest) > len(text) && r.rest[len(text)] == '\n'
		if doc == nil && exact {
			contiguous += len(text) + 1
		} else {
			if doc == nil {
				doc = append([]byte(nil), start[:contiguous]...)
			}
			doc = append(doc, text...)
			doc = append(doc, '\n')
		}
		r.rest = next
	}
	if doc != nil {
		return doc, nil
	}
	if contiguous > 0 {
		return start[:contiguous], nil
	}
	return nil, io.EOF
}

// cutLine splits off the first line as bufio.Reader.ReadLine returns it:
// without its "\n" or "\r\n".
func cutLine(data []byte) (text, rest []byte, terminated bool) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		return data, nil, false
	}
	text = data[:i]
	if len(text) > 0 && text[len(text)-1] == '\r' {
		text = text[:len(text)-1]
	}
	return text, data[i+1:], true
}

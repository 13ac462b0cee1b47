package report

import (
	"bytes"
	"encoding/json"
	"io"
)

// JSON writes r as one indented JSON document (two spaces, a newline at
// the end), byte for byte what encoding/json's Encoder with SetIndent("",
// "  ") writes. It marshals once and indents in one pass: the Encoder
// re-scans a json.Marshaler's output to compact it and scans it again to
// indent, which for a 2,000-user host was a sixth of the CLI's CPU time.
// A json.Marshaler passed in must write what json.Marshal writes (compact,
// HTML-escaped); TestJSONMatchesEncoder holds enum.Result to that.
func JSON(w io.Writer, r any) error {
	var b []byte
	var err error
	if m, ok := r.(json.Marshaler); ok {
		// Its output is json.Marshal's (enum.Result): compact and
		// escaped already, so json.Marshal's check of it is skipped.
		b, err = m.MarshalJSON()
	} else {
		b, err = json.Marshal(r)
	}
	if err != nil {
		return err
	}
	out := indentJSON(make([]byte, 0, len(b)+len(b)/2), b)
	_, err = w.Write(append(out, '\n'))
	return err
}

// indentJSON appends src, valid compact JSON as json.Marshal writes it,
// indented as json.Indent(dst, src, "", "  ") would: each element on its
// own line, ": " after a key, and empty objects and arrays kept as {} and
// []. It does not validate; JSON checks its input came from json.Marshal.
func indentJSON(dst, src []byte) []byte {
	depth := 0
	newline := func() {
		dst = append(dst, '\n')
		for range depth {
			dst = append(dst, ' ', ' ')
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case '"':
			// Copy the string through its closing quote; a backslash
			// escapes the byte after it.
			j := i + 1
			for j < len(src) {
				k := bytes.IndexAny(src[j:], `"\`)
				if k < 0 {
					j = len(src)
					break
				}
				j += k
				if src[j] == '\\' {
					j += 2
					continue
				}
				break
			}
			end := min(j+1, len(src))
			dst = append(dst, src[i:end]...)
			i = end - 1
		case '{', '[':
			dst = append(dst, c)
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				dst = append(dst, src[i+1])
				i++
				continue
			}
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline()
		case ':':
			dst = append(dst, ':', ' ')
		case ' ', '\t', '\n', '\r':
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

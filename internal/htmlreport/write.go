package htmlreport

import (
	"bufio"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"sync"
)

//go:embed report.html.tmpl
var pageSrc string

// The page's only script; the Content-Security-Policy allows exactly it
// (by its SHA-256, CSP Level 2 §4.2), so even markup that escaped
// escaping could not run a script of its own.
//
//go:embed report.js
var scriptSrc string

var scriptHash = sync.OnceValue(func() string {
	h := sha256.Sum256([]byte(scriptSrc))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
})

// pageTmpl is parsed on first use, not at start: every run of the binary
// (enum of one host among them) would pay for it otherwise.
var pageTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"inc": func(i int) int { return i + 1 },
	}).Parse(pageSrc))
})

// Write renders the report.
func Write(w io.Writer, in Input) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	if err := pageTmpl().Execute(bw, build(in)); err != nil {
		return fmt.Errorf("htmlreport: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("htmlreport: %w", err)
	}
	return nil
}

// WriteFile renders the report to path, through a temporary file renamed
// into place, so a reader never sees half a report.
func WriteFile(path string, in Input) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".nullsweep-report-*.html")
	if err != nil {
		// The temporary file's name means nothing to the user; the
		// directory of the path they gave does.
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("htmlreport: cannot write %s in %s: %w", filepath.Base(path), dir, err)
	}
	defer os.Remove(f.Name())
	if err := Write(f, in); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("htmlreport: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("htmlreport: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("htmlreport: %w", err)
	}
	return nil
}

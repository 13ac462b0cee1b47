package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// hostFlags are the flags enum and audit share, validated in one place.
type hostFlags struct {
	json    bool
	timeout time.Duration
	port    int
	smb1    bool
	noGuest bool
	verbose bool
}

// register adds the shared flags; timeout is the verb's default bound.
func (f *hostFlags) register(fl *pflag.FlagSet, timeout time.Duration, jsonHelp string) {
	fl.BoolVar(&f.json, "json", false, jsonHelp)
	fl.DurationVar(&f.timeout, "timeout", timeout, "bound for each host (all of its layers and checks)")
	fl.IntVar(&f.port, "port", 0, "SMB port: 445 or 139 (default 445, or 139 when 445 is closed)")
	fl.BoolVar(&f.smb1, "smb1", false, "force SMB1 (NT LM 0.12) for the session and checks")
	fl.BoolVar(&f.noGuest, "no-guest", false, "skip the guest probe (a random unknown user, empty password)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "show each call as it happens on stderr (layer, call, status, ms)")
}

// validate checks the shared flags and every host argument before any
// lookup or connection; it returns the hosts as they will be examined.
func (f *hostFlags) validate(hosts []string) ([]string, error) {
	if f.port != 0 && f.port != 445 && f.port != 139 {
		return nil, usageErr(fmt.Errorf("--port must be 445 or 139, not %d", f.port))
	}
	if f.timeout <= 0 {
		return nil, usageErr(fmt.Errorf("--timeout must be positive, not %s", f.timeout))
	}
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		v, err := parseHost(h)
		if err != nil {
			return nil, usageErr(err)
		}
		out = append(out, v)
	}
	return out, nil
}

// logger is the verbs' logger: with --verbose each call as it happens (the
// checks log at debug level), otherwise nothing, so that stderr carries
// only the verb's own error line.
func (f *hostFlags) logger(w io.Writer) *slog.Logger {
	if !f.verbose {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// parseHost validates one host argument without any lookup: an IPv4 or
// IPv6 literal (brackets allowed, a zone too) or a DNS name. It refuses
// what would otherwise turn into a confusing DNS query: a port (use
// --port), a CIDR range (that is sweep's job), an address that does not
// parse, spaces, an empty string.
func parseHost(s string) (string, error) {
	switch {
	case s == "":
		return "", errors.New("empty host argument")
	case strings.TrimSpace(s) != s:
		return "", fmt.Errorf("host %q has leading or trailing spaces", s)
	}
	if strings.Contains(s, "/") {
		if _, err := netip.ParsePrefix(s); err == nil {
			return "", fmt.Errorf("%s is a network (CIDR): 'nullsweep sweep' examines ranges; enum and audit take single hosts", s)
		}
		return "", fmt.Errorf("host %q: '/' is neither in an address nor in a DNS name", s)
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String(), nil
	}
	if inner, ok := strings.CutPrefix(s, "["); ok {
		if inner, ok := strings.CutSuffix(inner, "]"); ok {
			if a, err := netip.ParseAddr(inner); err == nil && a.Is6() {
				return a.String(), nil
			}
		}
	}
	if h, p, err := net.SplitHostPort(s); err == nil {
		return "", fmt.Errorf("host %q carries a port: give the host alone (%s) and the port with --port %s", s, h, p)
	}
	if strings.Contains(s, ":") {
		return "", fmt.Errorf("host %q: not a valid IPv6 address", s)
	}
	if allDigitsAndDots(s) {
		// 300.1.1.1 or 10.1: never a DNS name (RFC 1123 2.1: a name's
		// last label is not all-numeric).
		return "", fmt.Errorf("host %q: not a valid IPv4 address", s)
	}
	if err := checkDNSName(s); err != nil {
		return "", fmt.Errorf("host %q: %w", s, err)
	}
	return s, nil
}

func allDigitsAndDots(s string) bool {
	for _, c := range s {
		if c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// checkDNSName applies RFC 1035 2.3.1 / RFC 1123 2.1 syntax (underscores
// tolerated: NetBIOS-era names carry them).
func checkDNSName(s string) error {
	name := strings.TrimSuffix(s, ".")
	if len(name) == 0 || len(name) > 253 {
		return errors.New("not a valid DNS name (length)")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("not a valid DNS name (empty or over-long label)")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("not a valid DNS name (label starts or ends with '-')")
		}
		for _, c := range label {
			ok := c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			if !ok {
				return fmt.Errorf("not a valid DNS name (character %q)", c)
			}
		}
	}
	return nil
}

// exactHosts and minHosts check the number of host arguments, as usage errors.
func exactHosts(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErr(fmt.Errorf("%s takes %d host, got %d arguments", cmd.Name(), n, len(args)))
		}
		return nil
	}
}

func minHosts(n int) cobra.PositionalArgs { return minArgs(n, "HOST") }

// minArgs and maxArgs check the number of arguments, as usage errors that
// name what is expected (cobra's own say "arg(s)").
func minArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageErr(fmt.Errorf("%s needs at least %d %s", cmd.Name(), n, what))
		}
		return nil
	}
}

func maxArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usageErr(fmt.Errorf("%s takes at most %d %s, got %d arguments", cmd.Name(), n, what, len(args)))
		}
		return nil
	}
}

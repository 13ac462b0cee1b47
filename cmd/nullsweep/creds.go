package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/nullsweep/nullsweep/internal/smb"
)

// Environment variables that carry the secret of --user: never a flag,
// so that it stays out of shell history and process listings.
const (
	envPassword = "NULLSWEEP_PASSWORD"
	envNTHash   = "NULLSWEEP_NTHASH"
)

// credFlags is --user, shared by the verbs that can log on.
type credFlags struct {
	user string
}

func (f *credFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.user, "user", "", `log on as DOMAIN\name (or name@domain); the password comes from `+envPassword+
		`, the NT hash (32 hex digits) from `+envNTHash+`, or a prompt without echo`)
}

// splitAccount reads DOMAIN\name, name@domain or name.
func splitAccount(s string) (user, domain string, err error) {
	switch {
	case strings.TrimSpace(s) != s || s == "":
		return "", "", errors.New("--user: empty, or leading or trailing spaces")
	case strings.ContainsAny(s, "%:"):
		// rpcclient's user%password and user:password spellings: the
		// value is not echoed, it may hold a password.
		return "", "", fmt.Errorf("--user takes the account only; the password is never a flag value (use %s or the prompt)", envPassword)
	}
	if d, u, ok := strings.Cut(s, `\`); ok {
		user, domain = u, d
	} else if u, d, ok := strings.Cut(s, "@"); ok {
		user, domain = u, d
	} else {
		user = s
	}
	if user == "" || strings.ContainsAny(user, `\@/`) || strings.ContainsAny(domain, `\@/`) {
		return "", "", fmt.Errorf(`--user %q: give DOMAIN\name, name@domain or name`, s)
	}
	return user, domain, nil
}

// credentials returns the zero Credentials without --user; otherwise the
// account with its secret from the environment or, on a terminal, from a
// prompt on w without echo. Error texts never carry the secret.
func (f *credFlags) credentials(w io.Writer) (smb.Credentials, error) {
	if f.user == "" {
		return smb.Credentials{}, nil
	}
	user, domain, err := splitAccount(f.user)
	if err != nil {
		return smb.Credentials{}, usageErr(err)
	}
	c := smb.Credentials{User: user, Domain: domain}
	pw, hasPW := os.LookupEnv(envPassword)
	h, hasHash := os.LookupEnv(envNTHash)
	switch {
	case hasPW && hasHash:
		return smb.Credentials{}, usageErr(fmt.Errorf("set %s or %s, not both", envPassword, envNTHash))
	case hasHash:
		b, err := hex.DecodeString(strings.TrimSpace(h))
		if err != nil || len(b) != 16 {
			return smb.Credentials{}, usageErr(fmt.Errorf("%s must be 32 hex digits (the NT hash)", envNTHash))
		}
		c.NTHash = b
	case hasPW:
		c.Password = pw
	default:
		fd := int(os.Stdin.Fd())
		if !term.IsTerminal(fd) {
			return smb.Credentials{}, usageErr(fmt.Errorf("--user %s: no password: set %s or %s, or run on a terminal to be asked", c.Account(), envPassword, envNTHash))
		}
		fmt.Fprintf(w, "Password for %s: ", c.Account())
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(w)
		if err != nil {
			return smb.Credentials{}, runErr(fmt.Errorf("read password: %w", err))
		}
		c.Password = string(b)
	}
	if !c.HasSecret() {
		return smb.Credentials{}, usageErr(fmt.Errorf("--user %s: the password is empty", c.Account()))
	}
	return c, nil
}

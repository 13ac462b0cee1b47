package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/ntlmssp"
)

// nullsweepEnv runs the binary with extra environment variables and no
// terminal on stdin.
func nullsweepEnv(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestSplitAccount(t *testing.T) {
	for _, tc := range []struct{ in, user, domain string }{
		{`LAB\alice`, "alice", "LAB"},
		{"alice@lab.test", "alice", "lab.test"},
		{"alice", "alice", ""},
		{`\alice`, "alice", ""},
		{"alice%secret", "", ""},
		{"alice:secret", "", ""},
		{`LAB\`, "", ""},
		{"@lab", "", ""},
		{" alice", "", ""},
		{`a\b\c`, "", ""},
	} {
		u, d, err := splitAccount(tc.in)
		if (tc.user == "") != (err != nil) || u != tc.user || d != tc.domain {
			t.Errorf("%q: %q %q %v", tc.in, u, d, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: the error echoes the secret: %v", tc.in, err)
		}
	}
}

// TestCredentialsUsage: without a secret (no terminal to prompt on), with
// both variables, with a bad hash, with user%password: usage errors that
// never echo the secret.
func TestCredentialsUsage(t *testing.T) {
	const secret = "Sekr1t-x9q"
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"enum", "--user", "alice", "127.0.0.1"}, "no password"},
		{[]string{"NULLSWEEP_PASSWORD=" + secret, "NULLSWEEP_NTHASH=" + strings.Repeat("ab", 16)}, []string{"enum", "--user", "alice", "127.0.0.1"}, "not both"},
		{[]string{"NULLSWEEP_NTHASH=" + secret}, []string{"enum", "--user", "alice", "127.0.0.1"}, "32 hex digits"},
		{[]string{"NULLSWEEP_PASSWORD="}, []string{"enum", "--user", "alice", "127.0.0.1"}, "empty"},
		{nil, []string{"enum", "--user", "alice%" + secret, "127.0.0.1"}, "never a flag value"},
	} {
		out, errOut, code := nullsweepEnv(t, tc.env, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errOut)
		}
		if strings.Contains(out+errOut, secret) {
			t.Errorf("%v: the secret is printed: %q %q", tc.args, out, errOut)
		}
	}
}

// TestCredentialsNeverPrinted runs enum as the lab user with a known
// password and with its NT hash (-v, text and JSON), and with a wrong
// password, and greps every output for the password and the hash.
func TestCredentialsNeverPrinted(t *testing.T) {
	host := labtest.Require(t, "open")["open"]
	const pw = "Passw0rd!"
	hash := ntlmssp.NTHash(pw)
	secrets := []string{pw, hex.EncodeToString(hash), strings.ToUpper(hex.EncodeToString(hash)), string(hash)}
	wrong := "Wr0ng-Passw0rd-q3"
	wrongHash := ntlmssp.NTHash(wrong)
	secrets = append(secrets, wrong, hex.EncodeToString(wrongHash), string(wrongHash))
	for _, tc := range []struct {
		name    string
		env     string
		args    []string
		allowed bool
	}{
		{"password json", "NULLSWEEP_PASSWORD=" + pw, []string{"--json"}, true},
		{"password text -v", "NULLSWEEP_PASSWORD=" + pw, []string{"-v"}, true},
		{"hash json -v", "NULLSWEEP_NTHASH=" + hex.EncodeToString(hash), []string{"--json", "-v"}, true},
		{"wrong password json -v", "NULLSWEEP_PASSWORD=" + wrong, []string{"--json", "-v"}, false},
		{"wrong password text", "NULLSWEEP_PASSWORD=" + wrong, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"enum", "--user", `OPENSRV\alice`, "-U", "-S", "-G", "--timeout", "60s"}, tc.args...)
			out, errOut, code := nullsweepEnv(t, []string{tc.env}, append(args, host)...)
			for _, s := range secrets {
				if strings.Contains(out, s) || strings.Contains(errOut, s) {
					t.Errorf("a secret (%d bytes) is in the output", len(s))
				}
			}
			if !strings.Contains(out, `alice`) {
				t.Errorf("the account is not named: %s", out)
			}
			if tc.args != nil && tc.args[0] == "--json" {
				var r struct {
					Account  string
					Sessions map[string]struct{ Result, Status, Form string }
					Users    []struct{ Name string }
				}
				if err := json.Unmarshal([]byte(out), &r); err != nil {
					t.Fatalf("%v: %s", err, out)
				}
				u := r.Sessions["user"]
				if r.Account != `OPENSRV\alice` || u.Form != "ntlmv2" || len(r.Sessions) != 1 {
					t.Errorf("account %q sessions %+v", r.Account, r.Sessions)
				}
				if tc.allowed != (u.Result == "allowed") || (!tc.allowed && u.Status != "STATUS_LOGON_FAILURE") {
					t.Errorf("session %+v (exit %d)", u, code)
				}
				if tc.allowed && len(r.Users) == 0 {
					t.Errorf("no users as alice: %s", out)
				}
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/ntlmssp"
)

type userViewJSON struct {
	User *struct {
		Account           string
		Session           string
		Status            string
		CredentialRefused bool `json:"credential_refused"`
		Items             []struct{ Key, Anonymous, User, Gap string }
	}
	Notes    []string
	Settings []struct {
		Name, State, Value string
		Evidence           []string
	}
}

func (u userViewJSON) gaps() map[string]string {
	m := map[string]string{}
	if u.User != nil {
		for _, it := range u.User.Items {
			m[it.Key] = it.Gap
		}
	}
	return m
}

// oracleOK runs smbclient or rpcclient (user "" for anonymous) and reports
// whether the command succeeded.
func oracleOK(t *testing.T, user string, args ...string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if user == "" {
		args = append([]string{"-U", "%", "-N"}, args...)
	} else {
		args = append([]string{"-U", user}, args...)
	}
	out, err := exec.CommandContext(ctx, args[len(args)-1], args[:len(args)-1]...).CombinedOutput()
	return err == nil && !strings.Contains(string(out), "NT_STATUS_")
}

// TestAuditUserLive: audit --user examines each host twice; the gap per
// item equals the difference of the oracles run anonymously and as alice
// (restricted: IPC$ and users only for alice; restricted1: IPC$ for both,
// users and groups only for alice; open: share data only for alice, users
// for both), a wrong password is tried once and said so, and
// no output or history database holds the password or its hash.
func TestAuditUserLive(t *testing.T) {
	addrs := labtest.Require(t, "open", "restricted", "restricted1")
	const pw = "Passw0rd!"
	db := filepath.Join(t.TempDir(), "history.db")
	run := func(env, host string) (userViewJSON, string) {
		t.Helper()
		out, errOut, _ := nullsweepEnv(t, []string{env}, "audit", "--db", db, "--json", "--timeout", "60s", "--user", `LAB\alice`, host)
		var u userViewJSON
		if err := json.Unmarshal([]byte(out), &u); err != nil || u.User == nil {
			t.Fatalf("%v: %s %s", err, out, errOut)
		}
		return u, out + errOut
	}
	var outputs []string

	// The oracles' difference: what alice gets that "" does not.
	restricted, open, r1 := addrs["restricted"], addrs["open"], addrs["restricted1"]
	alice := "LAB/alice%" + pw
	for _, tc := range []struct {
		host, key, want string
		oracle          []string
	}{
		{restricted, "ipc", "user only", []string{"//" + restricted + "/IPC$", "-c", "exit", "smbclient"}},
		{restricted, "users", "user only", []string{restricted, "-c", "enumdomusers", "rpcclient"}},
		{open, "share:data", "user only", []string{"//" + open + "/data", "-c", "ls", "smbclient"}},
		{open, "users", "both", []string{open, "-c", "enumdomusers", "rpcclient"}},
		{open, "share:public", "both", []string{"//" + open + "/public", "-c", "ls", "smbclient"}},
		{r1, "ipc", "both", []string{"//" + r1 + "/IPC$", "-c", "exit", "smbclient"}},
		{r1, "users", "user only", []string{r1, "-c", "enumdomusers", "rpcclient"}},
		{r1, "groups", "user only", []string{r1, "-c", "enumdomgroups", "rpcclient"}},
	} {
		anon, user := oracleOK(t, "", tc.oracle...), oracleOK(t, alice, tc.oracle...)
		want := map[[2]bool]string{{false, true}: "user only", {true, true}: "both", {false, false}: "neither", {true, false}: "anonymous only"}[[2]bool{anon, user}]
		if want != tc.want {
			t.Fatalf("oracle %v: anonymous %v, alice %v: the lab is not as documented", tc.oracle, anon, user)
		}
	}
	u, out := run("NULLSWEEP_PASSWORD="+pw, restricted)
	outputs = append(outputs, out)
	if g := u.gaps(); g["ipc"] != "user only" || g["users"] != "user only" || g["session"] != "both" {
		t.Errorf("restricted gaps %v", g)
	}
	if !strings.Contains(strings.Join(u.Notes, "\n"), "RestrictAnonymous=2") {
		t.Errorf("restricted notes %q", u.Notes)
	}
	found := false
	for _, s := range u.Settings {
		found = found || s.Name == "restrict anonymous"
		if s.Name == "restrict anonymous" && (s.State != "observed" || s.Value != "2" || !strings.Contains(strings.Join(s.Evidence, "|"), `as LAB\alice: IPC$ allowed`)) {
			t.Errorf("restricted: %+v", s)
		}
	}
	if !found {
		t.Error("restricted: no 'restrict anonymous' setting")
	}
	u, out = run("NULLSWEEP_PASSWORD="+pw, r1)
	outputs = append(outputs, out)
	if g := u.gaps(); g["ipc"] != "both" || g["users"] != "user only" || g["groups"] != "user only" {
		t.Errorf("restricted1 gaps %v", g)
	}
	if !strings.Contains(strings.Join(u.Notes, "\n"), "RestrictAnonymous=1") {
		t.Errorf("restricted1 notes %q", u.Notes)
	}
	u, out = run("NULLSWEEP_NTHASH="+hex.EncodeToString(ntlmssp.NTHash(pw)), open)
	outputs = append(outputs, out)
	if g := u.gaps(); g["share:data"] != "user only" || g["users"] != "both" || g["share:public"] != "both" {
		t.Errorf("open gaps %v", g)
	}

	const wrong = "Wr0ng-Passw0rd-q3"
	u, out = run("NULLSWEEP_PASSWORD="+wrong, open)
	outputs = append(outputs, out)
	if !u.User.CredentialRefused || u.User.Status != "STATUS_LOGON_FAILURE" || len(u.User.Items) != 0 {
		t.Errorf("wrong password: %+v", u.User)
	}
	if !strings.Contains(strings.Join(u.Notes, "\n"), "tried once and not used again") {
		t.Errorf("wrong password notes %q", u.Notes)
	}

	// The HTML report of the recorded runs shows each user comparison:
	// run 1 is restricted (IPC$ and users only for alice), run 4 the
	// refused password.
	for _, tc := range []struct {
		run  string
		want []string
	}{
		{"1", []string{`What LAB\alice gets that a stranger does not — ` + restricted, `<tr><td>ipc</td><td>no</td><td>yes</td><td class="bad">user only</td>`,
			`<tr><td>users</td><td>no</td><td>yes</td><td class="bad">user only</td>`, `as LAB\alice: +`}},
		{"4", []string{`What LAB\alice gets that a stranger does not — ` + open, "(STATUS_LOGON_FAILURE); the credential was refused and not tried again on this host", "<p>No item compared.</p>"}},
	} {
		html := filepath.Join(t.TempDir(), "r.html")
		if o, e, code := nullsweep(t, "report", tc.run, "--db", db, "--html", html); code != 0 {
			t.Fatalf("report %s: exit %d: %s %s", tc.run, code, o, e)
		}
		page, err := os.ReadFile(html)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(page), w) {
				t.Errorf("the HTML report of run %s lacks %q", tc.run, w)
			}
		}
		outputs = append(outputs, string(page))
	}

	b, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, side := range []string{"-wal", "-journal"} {
		if x, err := os.ReadFile(db + side); err == nil {
			b = append(b, x...)
		}
	}
	all := []byte(strings.Join(outputs, "\n"))
	for _, s := range []string{pw, wrong, hex.EncodeToString(ntlmssp.NTHash(pw)), string(ntlmssp.NTHash(pw)), hex.EncodeToString(ntlmssp.NTHash(wrong))} {
		if bytes.Contains(b, []byte(s)) || bytes.Contains(all, []byte(s)) {
			t.Errorf("a secret (%d bytes) is in the output or the history database", len(s))
		}
	}
	if !bytes.Contains(b, []byte("alice")) {
		t.Error("the history database does not name the account: the grep proves nothing")
	}
}

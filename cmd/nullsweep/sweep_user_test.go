package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// TestSweepUserMaxAuthFailures: with a wrong password and
// --max-auth-failures 1, one host at a time, exactly one host is asked
// (and refuses); every other open host says the credential was not used.
// With the right password every open host gets its second look.
func TestSweepUserMaxAuthFailures(t *testing.T) {
	addrs := labtest.Require(t, "open", "restricted", "smb2only")
	targets := []string{addrs["open"], addrs["restricted"], addrs["smb2only"]}
	for _, tc := range []struct {
		name, pw             string
		refused, notUsed, ok int
	}{
		{"wrong", "Wr0ng-Passw0rd-q3", 1, 2, 0},
		{"right", "Passw0rd!", 0, 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "s.jsonl")
			args := append([]string{"sweep", "--no-store", "--user", `LAB\alice`, "--max-auth-failures", "1", "-c", "1", "--host-timeout", "90s", "-o", out}, targets...)
			_, errOut, _ := nullsweepEnv(t, []string{"NULLSWEEP_PASSWORD=" + tc.pw}, args...)
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("%v: %s", err, errOut)
			}
			if strings.Contains(string(b)+errOut, tc.pw) {
				t.Error("the password is in the sweep's output")
			}
			var refused, notUsed, ok int
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				var rec struct {
					Kind  string
					Audit *struct {
						Notes []string
						User  *struct {
							Session           string
							CredentialRefused bool `json:"credential_refused"`
						}
					}
				}
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatal(err)
				}
				if rec.Kind != "host" || rec.Audit == nil {
					continue
				}
				switch u := rec.Audit.User; {
				case u != nil && u.CredentialRefused:
					refused++
				case u != nil && u.Session == "allowed":
					ok++
				case u == nil && strings.Contains(strings.Join(rec.Audit.Notes, "\n"), "--max-auth-failures"):
					notUsed++
				}
			}
			if refused != tc.refused || notUsed != tc.notUsed || ok != tc.ok {
				t.Errorf("refused %d, not used %d, allowed %d; want %d, %d, %d\n%s", refused, notUsed, ok, tc.refused, tc.notUsed, tc.ok, b)
			}
		})
	}
}

package enum

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// -d reads SAMR class 21 for every user, as enum.exe -d did, and says what
// rpcclient's queryuser (the same class) says: the names, the paths, the
// counts, and each time, "never" as null.
func TestDetailedUsersMatchRpcclient(t *testing.T) {
	if testing.Short() {
		t.Skip("live lab test")
	}
	addrs := labtest.Require(t, "open", "dc")
	for _, posture := range []string{"open", "dc"} {
		t.Run(posture, func(t *testing.T) {
			addr := addrs[posture]
			r := Run(context.Background(), addr, Options{Timeout: 60 * time.Second, NoGuest: true, Checks: CheckUsers | CheckDetailed})
			if r.Error != "" || len(r.Users) == 0 {
				t.Fatalf("stopped at %s: %s; %d users", r.Layer, r.Error, len(r.Users))
			}
			var cmds []string
			for _, u := range r.Users {
				cmds = append(cmds, fmt.Sprintf("queryuser 0x%x", u.RID))
			}
			out := rpcclient(t, addr, false, strings.Join(cmds, ";"))
			blocks := strings.Split(out, "\tUser Name   :")[1:]
			if len(blocks) != len(r.Users) {
				t.Fatalf("rpcclient answered %d of %d queryuser:\n%s", len(blocks), len(r.Users), out)
			}
			for i, u := range r.Users {
				b := "\tUser Name   :" + blocks[i]
				line := func(label string) string {
					m := regexp.MustCompile(`(?m)^\t` + regexp.QuoteMeta(label) + `\s*:\t(.*)$`).FindStringSubmatch(b)
					if m == nil {
						t.Fatalf("%s: queryuser output lacks %q:\n%s", u.Name, label, b)
					}
					return m[1]
				}
				d := u.Details
				if d == nil || u.ACB == nil {
					t.Fatalf("%s: no details or flags: %+v", u.Name, u)
				}
				for _, c := range [][2]string{
					{line("User Name"), u.Name}, {line("Full Name"), u.FullName}, {line("Home Drive"), d.HomeDirectory},
					{line("Dir Drive"), d.HomeDrive}, {line("Profile Path"), d.ProfilePath}, {line("Logon Script"), d.ScriptPath},
					{line("Workstations"), d.Workstations}, {line("Comment"), d.UserComment},
					{line("group_rid"), fmt.Sprintf("0x%x", d.PrimaryGroupRID)},
					{line("bad_password_count"), fmt.Sprintf("0x%08x", d.BadPasswordCount)},
					{line("logon_count"), fmt.Sprintf("0x%08x", d.LogonCount)},
					{line("acb_info"), fmt.Sprintf("0x%08x", *u.ACB)},
					{rpcTime(line("Logon Time")), when(d.LastLogon)},
					{rpcTime(line("Logoff Time")), when(d.LastLogoff)},
					{rpcTime(line("Kickoff Time")), when(d.AccountExpires)},
					{rpcTime(line("Password last set Time")), when(d.PasswordLastSet)},
					{rpcTime(line("Password can change Time")), when(d.PasswordCanChange)},
					{rpcTime(line("Password must change Time")), when(d.PasswordMustChange)},
				} {
					if c[0] != c[1] {
						t.Errorf("%s: rpcclient %q, ours %q", u.Name, c[0], c[1])
					}
				}
			}
		})
	}
}

// rpcTime reads rpcclient's time the way -d reports it: rpcclient prints a FILETIME of
// 0 as the Unix epoch and 0x7fffffffffffffff as the year 30828, both
// "never" here; anything else to the second. (Samba's standalone server
// sends logoff and kickoff as a real 2036-02-06 15:06:39, its largest
// time_t, and both sides show that date: docs/samba.md.)
func rpcTime(s string) string {
	t, err := time.Parse("Mon, 02 Jan 2006 15:04:05 MST", s)
	if err != nil {
		if strings.Contains(s, " 30828 ") {
			return "never"
		}
		return "unparsed: " + s
	}
	if t.Unix() == 0 {
		return "never"
	}
	return t.UTC().Format(time.DateTime)
}

func when(p *string) string {
	if p == nil {
		return "never"
	}
	t, err := time.Parse(time.RFC3339Nano, *p)
	if err != nil {
		return "bad time " + *p
	}
	// rpcclient rounds a FILETIME to the nearest second (seen: .6 s up).
	return t.Round(time.Second).Format(time.DateTime)
}

package enum

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4"

	"github.com/nullsweep/nullsweep/internal/hostile"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/ntlmssp"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// logon is one NTLMSSP AUTHENTICATE the client sent, with the server
// challenge it answered.
type logon struct {
	auth      *ntlmssp.Authenticate
	challenge []byte
	smb1      bool
}

// captureLogons runs enum against the replayed open server and returns
// every AUTHENTICATE it sent, on every connection.
func captureLogons(t *testing.T, n int, opt Options) []logon {
	t.Helper()
	rec, err := hostile.OpenLab()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	challenges := map[int][]byte{} // connection → last server challenge
	var out []logon
	p := &hostile.Proxy{
		Dial: rec.Replay,
		Rule: func(r *hostile.Reply) {
			if i := bytes.Index(r.Raw, []byte("NTLMSSP\x00")); i >= 0 && i+32 <= len(r.Raw) && r.Raw[i+8] == 2 {
				mu.Lock()
				challenges[r.Conn] = append([]byte(nil), r.Raw[i+24:i+32]...)
				mu.Unlock()
			}
		},
		Request: func(q *hostile.Request) []byte {
			i := bytes.Index(q.Raw, []byte("NTLMSSP\x00"))
			if i < 0 || i+12 > len(q.Raw) || q.Raw[i+8] != 3 {
				return nil
			}
			a, err := ntlmssp.ParseAuthenticate(q.Raw[i:])
			if err != nil {
				t.Errorf("conn %d: undecodable AUTHENTICATE: %v", q.Conn, err)
				return nil
			}
			mu.Lock()
			out = append(out, logon{auth: a, challenge: challenges[q.Conn], smb1: q.SMB1})
			mu.Unlock()
			return nil
		},
	}
	s, err := hostile.Listen(hostile.Addr(n), []int{445, 139}, p.Serve)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := Run(context.Background(), hostile.Addr(n), opt)
	if r.Error != "" {
		t.Fatalf("run: layer %q error %q", r.Layer, r.Error)
	}
	mu.Lock()
	defer mu.Unlock()
	return out
}

var guestName = regexp.MustCompile(`^nullsweep-[0-9a-f]{12}$`)

// TestLogonsSendNothingOfAnyone captures every AUTHENTICATE a full run
// sends (SMB2+, and SMB1 forced): the null session's carries no user, no
// domain, no workstation and empty responses with the ANONYMOUS flag; the
// guest probe's names a fresh random user, no domain, and its NTLMv2 proof
// is the one an empty password gives. Nothing else is ever sent.
func TestLogonsSendNothingOfAnyone(t *testing.T) {
	names := map[string]bool{}
	for i, smb1 := range []bool{false, true, false} {
		ls := captureLogons(t, 40+i, hostileOpts(10*time.Second, smb1))
		var null, guest int
		for _, l := range ls {
			a := l.auth
			switch {
			case a.User == "":
				null++
				if a.Domain != "" || a.Workstation != "" || len(a.NTResponse) != 0 ||
					!(len(a.LMResponse) == 0 || bytes.Equal(a.LMResponse, []byte{0})) {
					t.Errorf("null AUTHENTICATE carries something: domain %q workstation %q NT %x LM %x", a.Domain, a.Workstation, a.NTResponse, a.LMResponse)
				}
				if a.Flags&ntlmssp.NegotiateAnonymous == 0 {
					t.Errorf("null AUTHENTICATE without NTLMSSP_NEGOTIATE_ANONYMOUS: flags 0x%08x", a.Flags)
				}
			case guestName.MatchString(a.User):
				guest++
				if names[a.User] {
					t.Errorf("guest probe name %q used in two runs", a.User)
				}
				names[a.User] = true
				if a.Domain != "" || a.Workstation != "" {
					t.Errorf("guest probe sends domain %q workstation %q", a.Domain, a.Workstation)
				}
				if !emptyPasswordProof(a, l.challenge) {
					t.Errorf("guest probe %q: NTLMv2 response is not that of an empty password", a.User)
				}
			default:
				t.Errorf("AUTHENTICATE for user %q: only null sessions and the guest probe may log on", a.User)
			}
		}
		if null == 0 || guest != 1 {
			t.Errorf("run %d (smb1 %v): %d null and %d guest logons, want ≥1 and 1", i, smb1, null, guest)
		}
	}
}

// emptyPasswordProof recomputes NTProofStr with NTOWFv2("", user, domain)
// ([MS-NLMP] 3.3.2) and compares it with the one sent.
func emptyPasswordProof(a *ntlmssp.Authenticate, serverChallenge []byte) bool {
	if len(a.NTResponse) < 16+28 || len(serverChallenge) != 8 {
		return false
	}
	h := md4.New() // MD4(UTF-16LE("")) is MD4 of nothing
	k := hmac.New(md5.New, h.Sum(nil))
	k.Write(utf16le(strings.ToUpper(a.User) + a.Domain))
	m := hmac.New(md5.New, k.Sum(nil))
	m.Write(serverChallenge)
	m.Write(a.NTResponse[16:])
	return hmac.Equal(m.Sum(nil), a.NTResponse[:16])
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// TestNoCredentialInputs: enum.Options has one place for a credential
// (Credentials, an smb.Credentials that prints the account only), and no
// flag of any nullsweep command takes a password or a hash: --user names
// the account, the secret comes from NULLSWEEP_PASSWORD, NULLSWEEP_NTHASH
// or a prompt (cmd/nullsweep/creds.go), never a flag.
func TestNoCredentialInputs(t *testing.T) {
	cred := regexp.MustCompile(`(?i)pass|pwd|secret|hash|cred`)
	ot := reflect.TypeOf(Options{})
	for i := range ot.NumField() {
		f := ot.Field(i)
		if f.Name == "Credentials" && f.Type == reflect.TypeOf(smb.Credentials{}) {
			continue
		}
		if cred.MatchString(f.Name) && f.Name != "NoGuest" {
			t.Errorf("enum.Options.%s looks like a credential", f.Name)
		}
	}
	c := smb.Credentials{User: "u", Domain: "D", Password: "Sekr1t", NTHash: []byte("0123456789abcdef")}
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprint(Options{Credentials: c}), fmt.Sprintf("%+v", Options{Credentials: c})} {
		if strings.Contains(s, "Sekr1t") || strings.Contains(s, "0123456789abcdef") || strings.Contains(s, "30313233") {
			t.Errorf("a credential prints its secret: %s", s)
		}
	}
	if testing.Short() {
		return
	}
	bin := filepath.Join(t.TempDir(), "nullsweep")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/nullsweep").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	help := func(args ...string) string {
		out, err := exec.Command(bin, append(args, "--help")...).CombinedOutput()
		if err != nil {
			t.Fatalf("nullsweep %v --help: %v\n%s", args, err, out)
		}
		return string(out)
	}
	flag := regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([\w-]+)`)
	command := regexp.MustCompile(`(?m)^  (\w[\w-]*)\s+\S`)
	root := help()
	cmds := [][]string{{}}
	if i := strings.Index(root, "Available Commands:"); i >= 0 {
		sect := root[i:]
		if j := strings.Index(sect, "\n\n"); j >= 0 {
			sect = sect[:j]
		}
		for _, m := range command.FindAllStringSubmatch(sect, -1) {
			if m[1] != "help" && m[1] != "completion" {
				cmds = append(cmds, []string{m[1]})
			}
		}
	}
	if len(cmds) < 3 {
		t.Fatalf("found only %v commands in:\n%s", cmds, root)
	}
	for _, c := range cmds {
		for _, m := range flag.FindAllStringSubmatch(help(c...), -1) {
			if cred.MatchString(m[1]) {
				t.Errorf("nullsweep %v has flag --%s: credentials never come from flags", c, m[1])
			}
		}
	}
}

// TestFullEnumLeavesSharesUnchanged hashes every file and directory under
// the open lab server's shares (names, modes, sizes, modification times,
// contents) before and after a full enum with every check, RID cycling
// and the guest probe included: nullsweep only reads.
func TestFullEnumLeavesSharesUnchanged(t *testing.T) {
	if testing.Short() {
		t.Skip("live full enum")
	}
	addr := labtest.Require(t, "open")["open"]
	dirs := shareDirs(t, addr)
	if len(dirs) == 0 {
		t.Fatalf("no share directories found for the server on %s", addr)
	}
	before := hashTree(t, dirs)
	r := Run(context.Background(), addr, Options{Timeout: 2 * time.Minute, Checks: CheckAll | CheckDetailed})
	if r.Error != "" {
		t.Fatalf("enum: layer %q error %q", r.Layer, r.Error)
	}
	listed := false
	for _, s := range r.Shares {
		listed = listed || s.Anonymous.List == "ok"
	}
	if !listed {
		t.Fatalf("no share was listed: the test would prove nothing (shares %s)", js(r.Shares))
	}
	if after := hashTree(t, dirs); after != before {
		t.Errorf("share contents changed during the enum:\nbefore %s\nafter  %s", before, after)
	}
}

// shareDirs finds the smbd serving addr (its -s config names the address
// in "interfaces") and returns the paths of its shares.
func shareDirs(t *testing.T, addr string) []string {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if filepath.Base(args[0]) != "smbd" {
			continue
		}
		for i, a := range args {
			conf := ""
			switch {
			case a == "-s" && i+1 < len(args):
				conf = args[i+1]
			case strings.HasPrefix(a, "--configfile="):
				conf = strings.TrimPrefix(a, "--configfile=")
			}
			if conf == "" {
				continue
			}
			text, err := os.ReadFile(conf)
			if err != nil || !regexp.MustCompile(`(?m)^\s*interfaces\s*=\s*`+regexp.QuoteMeta(addr)+`\b`).Match(text) {
				continue
			}
			var dirs []string
			for _, m := range regexp.MustCompile(`(?m)^\s*path\s*=\s*(\S+)`).FindAllSubmatch(text, -1) {
				dirs = append(dirs, string(m[1]))
			}
			t.Logf("shares of %s (%s): %v", addr, conf, dirs)
			return dirs
		}
	}
	return nil
}

// hashTree digests the trees under dirs: path, mode, size, mtime and
// content of each entry (access times are left out: reading sets them).
func hashTree(t *testing.T, dirs []string) string {
	t.Helper()
	var lines []string
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := e.Info()
			if err != nil {
				return err
			}
			sum := ""
			if fi.Mode().IsRegular() {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				h := sha256.Sum256(b)
				sum = hex.EncodeToString(h[:])
			}
			lines = append(lines, fmt.Sprintf("%s %v %d %d %s", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano(), sum))
			return nil
		})
		if err != nil {
			t.Fatalf("hash %s: %v", d, err)
		}
	}
	sort.Strings(lines)
	h := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return fmt.Sprintf("%x (%d entries)", h[:8], len(lines))
}

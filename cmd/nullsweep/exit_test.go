package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/hostile"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// TestUsageErrors: every mistake in the command line is exit 2, says what
// is wrong, points to --help, and is caught before any lookup or
// connection (the hosts here would otherwise be DNS queries or dials).
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"lab", "bogus"}, `unknown lab subcommand "bogus"`},
		{[]string{"lab"}, "lab needs a subcommand"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"enum", "--bogus", "127.0.0.2"}, "unknown flag: --bogus"},
		{[]string{"enum"}, "enum takes 1 host"},
		{[]string{"enum", "127.0.0.2", "127.0.0.3"}, "enum takes 1 host"},
		{[]string{"enum", "127.0.0.2:445"}, "--port 445"},
		{[]string{"audit", "[::1]:139"}, "--port 139"},
		{[]string{"enum", "127.0.0.0/30"}, "'nullsweep sweep'"},
		{[]string{"audit", "127.0.0.2", "127.0.0.0/8"}, "'nullsweep sweep'"},
		{[]string{"enum", "300.1.1.1"}, "not a valid IPv4 address"},
		{[]string{"enum", "127.1"}, "not a valid IPv4 address"},
		{[]string{"enum", "::g"}, "not a valid IPv6 address"},
		{[]string{"enum", ""}, "empty host"},
		{[]string{"enum", " 127.0.0.2"}, "spaces"},
		{[]string{"audit", "127.0.0.2 "}, "spaces"},
		{[]string{"enum", "bad_host!.test"}, "not a valid DNS name"},
		{[]string{"enum", "--rid-stop", "0", "127.0.0.2"}, "--rid-stop must be at least 1"},
		{[]string{"enum", "--rid-stop=-1", "127.0.0.2"}, "--rid-stop must be at least 1"},
		{[]string{"enum", "--rid-batch", "0", "127.0.0.2"}, "--rid-batch"},
		{[]string{"enum", "--rids", "9-1", "127.0.0.2"}, "runs backwards"},
		{[]string{"enum", "--names", "a,,b", "127.0.0.2"}, "empty name"},
		{[]string{"enum", "-U", "--names", "alice", "127.0.0.2"}, "add -R"},
		{[]string{"enum", "--timeout", "0s", "127.0.0.2"}, "--timeout must be positive"},
		{[]string{"audit", "--fail-on", "severe", "127.0.0.2"}, "severe"},
		{[]string{"audit", "--port", "8", "127.0.0.2"}, "--port must be 445 or 139"},
		{[]string{"audit"}, "audit needs at least 1 HOST"},
		{[]string{"policy"}, "policy needs at least 1 FILE"},
		{[]string{"merge"}, "merge needs at least 1 FILE.jsonl"},
		{[]string{"pcap"}, "pcap needs at least 1 capture FILE"},
		{[]string{"diff", "1", "2", "3"}, "diff takes at most 2 RUN (numbers from nullsweep runs), got 3 arguments"},
		{[]string{"report", "1", "2", "--html", "x.html"}, "report takes at most 1 RUN"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := nullsweep(t, tt.args...)
			if code != exitIncomplete {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "--help' for usage") {
				t.Errorf("stderr %q lacks %q or the pointer to --help", errOut, tt.want)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

func TestParseHost(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"127.0.0.2", "127.0.0.2"},
		{"::1", "::1"},
		{"[::1]", "::1"},
		{"0:0::1", "::1"},
		{"fe80::1%lo", "fe80::1%lo"},
		{"dc1.lab.test", "dc1.lab.test"},
		{"dc1.lab.test.", "dc1.lab.test."},
		{"OPENSRV", "OPENSRV"},
		{"my_host", "my_host"},
	} {
		got, err := parseHost(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", " ", "a b", "127.0.0.2:445", "[::1]:445", "[127.0.0.1]", "127.0.0.0/30", "::1/128",
		"300.1.1.1", "1.2.3.4.5", "10.1", "-a.test", "a..test", "x" + strings.Repeat(".abc", 70), "\t127.0.0.2", "a:b"} {
		if got, err := parseHost(in); err == nil {
			t.Errorf("parseHost(%q) = %q, want an error", in, got)
		}
	}
}

func TestVersion(t *testing.T) {
	out, errOut, code := nullsweep(t, "--version")
	if code != 0 || errOut != "" || !strings.HasPrefix(out, "nullsweep ") || !strings.Contains(out, runtime.Version()) || !strings.Contains(out, "commit ") {
		t.Errorf("--version: exit %d, %q, %q", code, out, errOut)
	}
	if short, _, code := nullsweep(t, "-v"); code != 0 || short != out {
		t.Errorf("-v: exit %d, %q; want --version's %q", code, short, out)
	}
	// Before the verb -v must not swallow the verb: "nullsweep -v enum
	// HOST" ran no verb ("unknown command HOST"). It runs enum, verbose.
	closed := "127.0.0.99"
	if _, errOut, code := nullsweep(t, "-v", "enum", closed, "-U", "--no-guest"); code == 2 || !strings.Contains(errOut, "call=tcp/445") {
		t.Errorf("-v enum %s: exit %d, stderr %q", closed, code, errOut)
	}
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := versionOf(bi), "v1.2.3, commit 0123456789abcdef 2026-01-02T03:04:05Z (modified), go1.26.0"; got != want {
		t.Errorf("versionOf = %q, want %q", got, want)
	}
	if got := versionOf(&debug.BuildInfo{}); got != "(devel), commit unknown" {
		t.Errorf("versionOf(empty) = %q", got)
	}
}

// TestHelpHasExamples: each verb's help shows how it is used.
func TestHelpHasExamples(t *testing.T) {
	for _, verb := range []string{"enum", "audit", "policy", "lab"} {
		out, _, code := nullsweep(t, verb, "--help")
		if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "nullsweep "+verb+" ") {
			t.Errorf("%s --help (exit %d) has no examples:\n%s", verb, code, out)
		}
	}
	out, _, _ := nullsweep(t, "--help")
	if !strings.Contains(out, "Exit status") {
		t.Errorf("nullsweep --help does not state the exit status rule:\n%s", out)
	}
}

// closingListener is a server that accepts TCP 445/139 and closes each
// connection at once: reachable, but nothing can be negotiated.
func closingListener(t *testing.T, n int) string {
	t.Helper()
	s, err := hostile.Listen(hostile.Addr(n), []int{445, 139}, func(context.Context, *net.TCPConn, int) {})
	if err != nil {
		t.Skipf("hostile listener: %v (run inside a network namespace)", err)
	}
	t.Cleanup(func() { s.Close() })
	return hostile.Addr(n)
}

// TestNotExaminedExitsTwo: a host that was reached but not examined (a
// negotiate that failed, a deadline) is exit 2 in enum and audit alike,
// never a clean 0; a host that answered is 0 (enum) or 1 (audit findings).
func TestNotExaminedExitsTwo(t *testing.T) {
	if testing.Short() {
		t.Skip("live test")
	}
	closing := closingListener(t, 241)
	for _, verb := range []string{"enum", "audit"} {
		out, errOut, code := nullsweep(t, verb, "--timeout", "5s", closing)
		if code != exitIncomplete || !strings.Contains(errOut, "not examined: stopped at negotiate") {
			t.Errorf("%s on a closing listener: exit %d, stderr %q\n%s", verb, code, errOut, out)
		}
	}
	// What was not examined is not printed as "no".
	if out, _, _ := nullsweep(t, "enum", "--json", "--timeout", "5s", closing); strings.Contains(out, `"dialects"`) || strings.Contains(out, `"signing_enabled"`) {
		t.Errorf("enum --json on a closing listener reports dialects or signing:\n%s", out)
	}
	if out, _, _ := nullsweep(t, "audit", "--timeout", "5s", closing); strings.Contains(out, "SMB1 accepted:                           no") || strings.Contains(out, "signing required:                        no") {
		t.Errorf("audit on a closing listener says no for what it did not see:\n%s", out)
	}
	addrs := labtest.Require(t, "open")
	open := addrs["open"]
	// Letters select checks: the dialects were not probed.
	if out, _, code := nullsweep(t, "enum", "-U", "--timeout", "60s", open); code != 0 || !strings.Contains(out, "dialects: not probed") || strings.Contains(out, "SMB 1.0 no") {
		t.Errorf("enum -U (exit %d):\n%s", code, out)
	}
	if out, _, _ := nullsweep(t, "enum", "-U", "--json", "--timeout", "60s", open); strings.Contains(out, `"dialects"`) || !strings.Contains(out, `"signing_enabled"`) {
		t.Errorf("enum -U --json: dialects present or signing absent:\n%s", out)
	}
	tests := []struct {
		args      []string
		code      int
		errHas    string
		outHasNot string
	}{
		{[]string{"enum", "-U", "--timeout", "60s", open}, exitExamined, "", ""},
		{[]string{"audit", "--timeout", "60s", open}, exitFindings, "", ""},
		// A deadline is never a port state nor a clean audit.
		// It may stop before any finding (under load, at the TCP probe):
		// then it says so, never a clean "none".
		{[]string{"audit", "--timeout", "1ms", open}, exitIncomplete, "raise it", "  none\n"},
		{[]string{"audit", "--timeout", "1ms", open}, exitIncomplete, "not examined", "filtered"},
		{[]string{"audit", "--timeout", "1ms", open}, exitIncomplete, "not examined", "anonymous logon (null session):          no"},
		{[]string{"enum", "--timeout", "1ms", open}, exitIncomplete, "raise it", ""},
		// The deadline hits in the middle of RID cycling.
		{[]string{"enum", "-R", "--rids", "1000-4000000000", "--rid-batch", "1", "--timeout", "2s", open}, exitIncomplete, "--timeout of 2s ran out", ""},
	}
	for _, tt := range tests {
		out, errOut, code := nullsweep(t, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.errHas) || tt.outHasNot != "" && strings.Contains(out, tt.outHasNot) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)\n%s", tt.args, code, tt.code, errOut, tt.errHas, out)
		}
		if tt.args[0] == "audit" && tt.code == exitIncomplete && !strings.Contains(out, "INCOMPLETE") {
			t.Errorf("%v: the report is not marked incomplete:\n%s", tt.args, out)
		}
		if tt.code != exitIncomplete && errOut != "" {
			t.Errorf("%v: stderr not clean: %q", tt.args, errOut)
		}
	}
}

// TestInterrupt: SIGINT or SIGTERM stops every host, prints what was
// learned marked incomplete, and exits 2; hosts after the interrupted one
// are not examined (never reported as filtered or clean).
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("live test")
	}
	addrs := labtest.Require(t, "open")
	open := addrs["open"]
	for _, tt := range []struct {
		name  string
		sig   syscall.Signal
		twice bool // as timeout(1) sends it: to the process and to its group
		args  []string
	}{
		{"SIGINT", syscall.SIGINT, false, []string{"audit", "-v", "--timeout", "60s", open, open}},
		{"SIGTERM", syscall.SIGTERM, false, []string{"enum", "-v", "-R", "--rids", "1000-4000000000", "--rid-batch", "1", "--timeout", "60s", open}},
		{"SIGINT delivered twice", syscall.SIGINT, true, []string{"audit", "-v", "--timeout", "60s", open, open}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			var out bytes.Buffer
			cmd.Stdout = &out
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until the checks are under way (-v logs each call).
			sc := bufio.NewScanner(stderr)
			var rest bytes.Buffer
			for sc.Scan() {
				if strings.Contains(sc.Text(), "layer=call") {
					break
				}
			}
			start := time.Now()
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			if tt.twice {
				// Apart enough not to merge into one pending signal.
				time.Sleep(5 * time.Millisecond)
				if err := cmd.Process.Signal(tt.sig); err != nil {
					t.Fatal(err)
				}
			}
			for sc.Scan() {
				if !strings.HasPrefix(sc.Text(), "time=") {
					rest.WriteString(sc.Text() + "\n")
				}
			}
			err = cmd.Wait()
			took := time.Since(start)
			code := cmd.ProcessState.ExitCode()
			// Prompt: the session's logoff and the deferred port probe have
			// bounds of their own (0.5 s, 2 s); the rest is a loaded machine.
			if code != exitIncomplete || took > 10*time.Second {
				t.Errorf("exit %d after %v (err %v), want 2 promptly", code, took, err)
			}
			if !strings.Contains(rest.String(), "interrupted ("+sigName(tt.sig)+")") || !strings.Contains(rest.String(), "incomplete") {
				t.Errorf("stderr lacks the interrupt: %q", rest.String())
			}
			text := out.String()
			if !strings.Contains(text, "interrupted ("+sigName(tt.sig)+")") {
				t.Errorf("report not marked interrupted:\n%s", text)
			}
			if tt.args[0] == "audit" && strings.Count(text, "nullsweep audit ") != 1 {
				t.Errorf("audit went on to the next host after the interrupt:\n%s", text)
			}
		})
	}
}

// TestPolicyInput: key = value text is not an smb.conf (exit 2, no
// prediction); an empty smb.conf is Samba's defaults (exit 0); a file over
// the cap is refused; two smb.conf files are told apart by their paths.
func TestPolicyInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	xy := write("xy.conf", strings.Repeat("x = y\n", 100000))
	big := write("big.conf", strings.Repeat("restrict anonymous = 2\n", 400000))
	empty := write("empty/smb.conf", "")
	a := write("a/smb.conf", "[global]\nrestrict anonymous = 2\n")
	b := write("b/smb.conf", "[global]\nmap to guest = bad user\n")
	binary := write("capture.bin", "\x00\x01\x02\xff")
	hostname := write("hostname", "myhost\n")
	for _, tt := range []struct {
		args       []string
		code       int
		out, errIs string
	}{
		{[]string{"policy", xy}, exitIncomplete, "", "not an smb.conf"},
		{[]string{"audit", "--expect", xy, "127.0.0.2"}, exitIncomplete, "", "not an smb.conf"},
		{[]string{"policy", big}, exitIncomplete, "", "larger than 8 MiB"},
		{[]string{"policy", filepath.Join(dir, "none.inf")}, exitIncomplete, "", "nullsweep: policy file: open " + filepath.Join(dir, "none.inf") + ": no such file"},
		{[]string{"policy", binary}, exitIncomplete, "", "nullsweep: policy file " + binary + ": binary file"},
		{[]string{"policy", hostname}, exitIncomplete, "", "nullsweep: policy file " + hostname + ": not a security template (secedit INF), .reg export or smb.conf"},
		{[]string{"policy", empty}, exitExamined, "platform samba", ""},
		{[]string{"policy", a, b}, exitExamined, a + ":2: restrict anonymous = 2", ""},
		{[]string{"policy", a, b}, exitExamined, b + ":2: map to guest = bad user", ""},
	} {
		out, errOut, code := nullsweep(t, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errOut, tt.errIs) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)\n%s", tt.args, code, tt.code, errOut, tt.errIs, out)
		}
		if tt.code != 0 && out != "" {
			t.Errorf("%v: a prediction was printed:\n%s", tt.args, out)
		}
	}
}

// TestResolvedAndVerbose: a name is shown with the address it resolved to
// (every connection goes there); -v logs each call as it happens (layer,
// call, status, ms) and nothing else reaches stderr without it.
func TestResolvedAndVerbose(t *testing.T) {
	if testing.Short() {
		t.Skip("live test")
	}
	out, errOut, code := nullsweep(t, "enum", "-U", "--no-guest", "--timeout", "10s", "localhost")
	if !strings.Contains(out, "server: localhost (127.0.0.1)") && !strings.Contains(out, "server: localhost (::1)") {
		t.Errorf("enum localhost (exit %d, %q):\n%s", code, errOut, out)
	}
	open := labtest.Require(t, "open")["open"]
	_, errOut, code = nullsweep(t, "enum", "-v", "-U", "--no-guest", "--timeout", "60s", open)
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if code != 0 || len(lines) < 5 {
		t.Fatalf("enum -v: exit %d, stderr:\n%s", code, errOut)
	}
	for _, l := range lines {
		for _, k := range []string{"layer=", "call=", "status=", "ms="} {
			if !strings.Contains(l, k) {
				t.Errorf("-v line lacks %s: %s", k, l)
			}
		}
	}
}

// TestPcapNotACapture: a file that is no capture is exit 2 with a message
// that names the file and why the read stopped.
func TestPcapNotACapture(t *testing.T) {
	p := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(p, []byte("myhost\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := nullsweep(t, "pcap", p)
	if want := p + ": read stopped (pcap: not a pcap or pcapng file"; code != exitIncomplete || !strings.Contains(errOut, want) {
		t.Errorf("pcap %s: exit %d, stderr %q; want 2 and %q", p, code, errOut, want)
	}
}

// TestLabStatusNamesDir: lab status says where the postures' files are
// (scripts/demo.sh tells people to change a victim's smb.conf there).
func TestLabStatusNamesDir(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := nullsweep(t, "lab", "status", "--dir", dir, "open")
	if want := "lab directory: " + dir + " (each posture's files, its smb.conf among them, are under " + filepath.Join(dir, "POSTURE") + ")"; code != 0 || !strings.Contains(out, want) {
		t.Errorf("lab status: exit %d, %q, %q; want %q", code, out, errOut, want)
	}
}

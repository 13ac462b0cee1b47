package labtest_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// TestRequireOpen checks the contract other packages rely on: the address
// returned for a posture accepts SMB connections.
func TestRequireOpen(t *testing.T) {
	if os.Getenv(nsEnv) != "" {
		t.Skip("namespace helper run")
	}
	addrs := labtest.Require(t, "open", "dc")
	for name, want := range map[string]string{"open": "127.0.0.2", "dc": "127.0.0.10"} {
		if addrs[name] != want {
			t.Fatalf("Require: %s = %q, want %q", name, addrs[name], want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var d net.Dialer
	for _, a := range addrs {
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(a, "445"))
		if err != nil {
			t.Fatalf("after Require, %s:445: %v", a, err)
		}
		c.Close()
	}
}

const nsEnv = "NULLSWEEP_LABTEST_NS"

// TestRequireRace runs, in a fresh network namespace with an empty lab dir,
// three processes that Require the same postures at once, as parallel test
// packages do, and checks each server was started exactly once.
func TestRequireRace(t *testing.T) {
	switch os.Getenv(nsEnv) {
	case "require":
		labtest.Require(t, "open", "smb2only")
		return
	case "race":
		race(t)
		return
	}
	if testing.Short() {
		t.Skip("starts servers (~5 s)")
	}
	if os.Geteuid() != 0 || !lab.SambaInstalled() {
		t.Skip("needs root and Samba")
	}
	dir, err := os.MkdirTemp("", "nslabtest-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	defer os.RemoveAll(dir)
	cmd := exec.Command("unshare", "--net", "--mount", "--propagation", "private",
		os.Args[0], "-test.run=^TestRequireRace$", "-test.v")
	cmd.Env = append(os.Environ(), nsEnv+"=race", "NULLSWEEP_LAB_DIR="+dir)
	out, err := cmd.CombinedOutput()
	t.Logf("in namespace:\n%s", out)
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestRequireRace")) {
		t.Fatalf("race in namespace failed: %v", err)
	}
}

func race(t *testing.T) {
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v %s", err, out)
	}
	dir := lab.DefaultDir()
	l := lab.New(dir)
	defer l.Down(context.Background())
	var wg sync.WaitGroup
	errs := make([]error, 3)
	outs := make([][]byte, 3)
	for i := range errs {
		wg.Go(func() {
			c := exec.Command(os.Args[0], "-test.run=^TestRequireRace$", "-test.v")
			c.Env = append(os.Environ(), nsEnv+"=require")
			outs[i], errs[i] = c.CombinedOutput()
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || !bytes.Contains(outs[i], []byte("--- PASS")) {
			t.Fatalf("process %d: %v\n%s", i, err, outs[i])
		}
	}
	for _, name := range []string{"open", "smb2only"} {
		conf := filepath.Join(dir, name, "smb.conf")
		if n := rootSmbds(conf); n != 1 {
			t.Errorf("%s: %d smbd main processes, want 1", name, n)
		}
	}
	for _, s := range l.Status(context.Background()) {
		want := "down"
		if s.Name == "open" || s.Name == "smb2only" {
			want = "up"
		}
		if s.Word() != want {
			t.Errorf("%s is %s, want %s", s.Name, s.Word(), want)
		}
	}
}

// rootSmbds counts smbd processes for conf whose parent is not one.
func rootSmbds(conf string) int {
	isOurs := func(pid string) bool {
		b, err := os.ReadFile("/proc/" + pid + "/cmdline")
		argv0, _, _ := bytes.Cut(b, []byte{0})
		return err == nil && filepath.Base(string(argv0)) == "smbd" && bytes.Contains(b, []byte(conf))
	}
	n := 0
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil || !isOurs(e.Name()) {
			continue
		}
		st, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
		if len(f) > 1 && !isOurs(f[1]) {
			n++
		}
	}
	return n
}

package ldap

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// ldapsearch runs OpenLDAP's ldapsearch anonymously (-x) and returns its
// LDIF output with continuation lines unfolded. It skips when ldapsearch is
// missing, and fails under CI=true.
func ldapsearch(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("ldapsearch")
	if err != nil {
		if v, _ := strconv.ParseBool(os.Getenv("CI")); v {
			t.Fatal("ldapsearch not installed (ldap-utils)")
		}
		t.Skip("ldapsearch not installed (ldap-utils)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, path, append([]string{"-x", "-o", "ldif-wrap=no"}, args...)...).CombinedOutput()
	return string(out)
}

// ldifAttrs parses the attributes of the first entry ("name: value" and
// base64 "name:: value") of an LDIF text.
func ldifAttrs(ldif string) map[string][]string {
	attrs := map[string][]string{}
	in := false
	for _, l := range strings.Split(ldif, "\n") {
		if strings.HasPrefix(l, "dn:") {
			in = true
			continue
		}
		if !in || strings.HasPrefix(l, "#") {
			continue
		}
		if l == "" {
			break
		}
		name, val, ok := strings.Cut(l, ": ")
		if ok {
			attrs[name] = append(attrs[name], val)
		}
	}
	return attrs
}

// TestLiveRootDSEEqualsLdapsearch: on the DC, every rootDSE attribute and
// value equals ldapsearch's (currentTime aside: it is the clock), and the
// anonymous search verdict is ldapsearch's: Samba refuses with
// operationsError 00002020.
func TestLiveRootDSEEqualsLdapsearch(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: live lab test")
	}
	host := labtest.Require(t, "dc")["dc"]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res := Probe(ctx, host, Options{})
	want := ldifAttrs(ldapsearch(t, "-H", "ldap://"+host, "-b", "", "-s", "base"))
	if len(want) < 20 {
		t.Fatalf("ldapsearch gave %d attributes", len(want))
	}
	byPort := map[int]PortResult{}
	for _, p := range res.Ports {
		byPort[p.Port] = p
	}
	for _, port := range []int{389, 636, 3268, 3269} {
		p := byPort[port]
		if p.State != Open || p.Error != "" || p.RootDSE == nil {
			t.Fatalf("port %d: %+v", port, p)
		}
	}
	p := byPort[389]
	got := p.RootDSE.Attributes
	for name, vals := range want {
		if name == "currentTime" || name == "highestCommittedUSN" {
			continue
		}
		if !slices.Equal(got[name], vals) {
			t.Errorf("%s: got %q, ldapsearch %q", name, got[name], vals)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: not in ldapsearch's output", name)
		}
	}
	d := p.RootDSE
	if d.DefaultNamingContext != "DC=lab,DC=test" || d.DNSHostName != "DC1.lab.test" ||
		d.DomainFunctionality == nil || d.DomainFunctionality.Name != "2008 R2" ||
		d.IsGlobalCatalogReady != "TRUE" || d.CurrentTime == "" || !strings.HasPrefix(d.ServerName, "CN=DC1,") {
		t.Errorf("rootDSE fields: %+v", d)
	}
	for _, o := range d.SupportedCapabilities {
		if o.Name == "" {
			t.Errorf("capability %s not named", o.OID)
		}
	}
	for _, o := range d.SupportedControl {
		if o.Name == "" {
			t.Errorf("control %s not named", o.OID)
		}
	}

	// The anonymous search verdict equals ldapsearch's.
	out := ldapsearch(t, "-H", "ldap://"+host, "-b", "DC=lab,DC=test", "-z", "10", UsersFilter, "sAMAccountName")
	code, text := ldapResult(out)
	s := p.Search
	if s == nil || s.Allowed || strconv.Itoa(int(s.Result.Code)) != code || s.Result.Diagnostic != text {
		t.Fatalf("search %+v; ldapsearch result %q text %q", s, code, text)
	}
	if s.Result.Name != "operationsError" || !strings.HasPrefix(s.Result.Diagnostic, "00002020") {
		t.Fatalf("search %+v", s)
	}

	// LDAPS: Samba's self-made certificate, which does not verify.
	c := byPort[636].Certificate
	if c == nil || !strings.Contains(c.Subject, "CN=DC1.lab.test") || c.Verified || c.VerifyError == "" || c.NotAfter.IsZero() {
		t.Fatalf("636 certificate %+v", c)
	}
	if byPort[3268].RootDSE.DNSHostName != "DC1.lab.test" {
		t.Fatalf("3268: %+v", byPort[3268].RootDSE)
	}
}

// ldapResult reads "result: N text" and "text: ..." of an ldapsearch run.
func ldapResult(out string) (code, text string) {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "result: "); ok {
			code, _, _ = strings.Cut(v, " ")
		}
		if v, ok := strings.CutPrefix(l, "text: "); ok {
			text = v
		}
	}
	return code, text
}

// TestLiveStandaloneClosed: a standalone server has no LDAP; every port is
// closed, none is an error.
func TestLiveStandaloneClosed(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: live lab test")
	}
	host := labtest.Require(t, "open")["open"]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res := Probe(ctx, host, Options{})
	if len(res.Ports) != 4 {
		t.Fatalf("%+v", res)
	}
	for _, p := range res.Ports {
		if p.State != Closed || p.Error != "" || p.Layer != "" {
			t.Fatalf("port %d: %+v", p.Port, p)
		}
	}
}

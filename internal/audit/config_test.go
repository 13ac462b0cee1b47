package audit

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readTestConfig(t *testing.T, files ...string) *Config {
	t.Helper()
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join("testdata", f))
	}
	cfg, err := ReadConfig(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestReadConfigValues(t *testing.T) {
	tests := []struct {
		file string
		kind string
		want map[string]string
	}{
		{"secedit-member-hardened.inf", KindTemplate, map[string]string{
			RestrictAnonymous:         "1",
			RestrictAnonymousSAM:      "1",
			EveryoneIncludesAnonymous: "0",
			RestrictRemoteSAM:         "O:BAG:BAD:(A;;RC;;;BA)",
			NullSessionPipes:          "",
			NullSessionShares:         "",
			RestrictNullSessAccess:    "1",
			RequireSecuritySignature:  "1",
			LSAAnonymousNameLookup:    "0",
			EnableGuestAccount:        "0",
		}},
		{"legacy-dc.inf", KindTemplate, map[string]string{
			RestrictAnonymous:      "0",
			NullSessionPipes:       `COMNAP, COMNODE, SQL\QUERY, SPOOLSS, LLSRPC, NETLOGON, LSARPC, SAMR, BROWSER`,
			NullSessionShares:      "COMCFG, DFS$",
			PreWindows2000:         "*S-1-1-0, *S-1-5-11",
			LSAAnonymousNameLookup: "1",
			EnableGuestAccount:     "1",
			SMB1:                   "1",
		}},
		{"member-open.reg", KindReg, map[string]string{
			RestrictAnonymous:        "0",
			RestrictAnonymousSAM:     "0",
			RestrictNullSessAccess:   "1",
			NullSessionPipes:         "LSARPC, NETLOGON, SAMR, winreg",
			RequireSecuritySignature: "0",
			SMB1:                     "1",
		}},
		{"lab-open.smb.conf", KindSmbConf, map[string]string{
			SambaRestrictAnonymous: "0",
			SambaMapToGuest:        "Bad User",
			SambaServerMinProtocol: "NT1",
			SambaGuestOK:           "yes on public",
			"server role":          "standalone server",
		}},
		{"lab-restricted1.smb.conf", KindSmbConf, map[string]string{SambaRestrictAnonymous: "1"}},
		{"lab-smb2only.smb.conf", KindSmbConf, map[string]string{SambaServerMinProtocol: "SMB2_02"}},
		{"lab-dc.smb.conf", KindSmbConf, map[string]string{
			"server role":   "active directory domain controller",
			SambaMapToGuest: "Bad User",
			SambaGuestOK:    "no",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cfg := readTestConfig(t, tt.file)
			if len(cfg.Kinds) != 1 || cfg.Kinds[0] != tt.kind {
				t.Fatalf("kinds = %v, want %s", cfg.Kinds, tt.kind)
			}
			for k, want := range tt.want {
				got, ok := cfg.Values[k]
				if !ok {
					t.Errorf("%s not set", k)
					continue
				}
				if got.Value != want {
					t.Errorf("%s = %q, want %q (from %s)", k, got.Value, want, got.Source)
				}
				if got.Source == "" || got.Line == "" {
					t.Errorf("%s: source %q, line %q: evidence needs both", k, got.Source, got.Line)
				}
			}
			if len(cfg.Warnings) > 0 {
				t.Errorf("warnings: %v", cfg.Warnings)
			}
		})
	}
}

// The UTF-16LE export must point at the line numbers a text editor shows.
func TestTemplateSourceLines(t *testing.T) {
	cfg := readTestConfig(t, "secedit-member-hardened.inf")
	got := cfg.Values[RestrictAnonymousSAM]
	if got.Source != "testdata/secedit-member-hardened.inf:16" || !strings.HasSuffix(got.Line, "RestrictAnonymousSAM=4,1") {
		t.Errorf("RestrictAnonymousSAM from %s %q", got.Source, got.Line)
	}
	reg := readTestConfig(t, "member-open.reg")
	if got := reg.Values[NullSessionPipes].Source; got != "testdata/member-open.reg:10" {
		t.Errorf("NullSessionPipes source %s, want testdata/member-open.reg:10 (start of a continued value)", got)
	}
}

func TestSmbConfShares(t *testing.T) {
	cfg := readTestConfig(t, "lab-open.smb.conf")
	want := map[string]bool{"public": true, "data": false, "backup$": false}
	if len(cfg.Shares) != len(want) {
		t.Fatalf("shares %+v", cfg.Shares)
	}
	for _, s := range cfg.Shares {
		if g, ok := want[s.Name]; !ok || g != s.GuestOK {
			t.Errorf("share %s guest ok %v", s.Name, s.GuestOK)
		}
	}
	dc := readTestConfig(t, "lab-dc.smb.conf")
	for _, s := range dc.Shares {
		if s.Name == "homes" || s.Name == "printers" {
			t.Errorf("template section %s taken for a share", s.Name)
		}
	}
}

func TestParseConfigForms(t *testing.T) {
	tests := []struct {
		name, text string
		key, want  string
	}{
		{"synonym", "[global]\nmin protocol = nt1\n", SambaServerMinProtocol, "NT1"},
		{"continuation", "[global]\n  restrict \\\n anonymous = 2\n", SambaRestrictAnonymous, "2"},
		{"no section", "restrict anonymous = 1\n", SambaRestrictAnonymous, "1"},
		{"global guest default", "[global]\n public = yes\n[x]\n path = /x\n", SambaGuestOK, "yes on x"},
		{"map to guest spacing", "[global]\n map to guest = bad   password\n", SambaMapToGuest, "Bad Password"},
		{"regedit4", "REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters]\n\"NullSessionShares\"=hex(7):43,4f,4d,43,46,47,00,00\n", NullSessionShares, "COMCFG"},
		{"reg string sddl", "Windows Registry Editor Version 5.00\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Lsa]\n\"RestrictRemoteSam\"=\"O:BAG:BAD:(A;;RC;;;BA)\"\n", RestrictRemoteSAM, "O:BAG:BAD:(A;;RC;;;BA)"},
		{"template quoted multi", "[Registry Values]\nMACHINE\\System\\CurrentControlSet\\Services\\LanManServer\\Parameters\\NullSessionPipes=7,\"netlogon\",\"samr\"\n", NullSessionPipes, "netlogon, samr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig("t", []byte(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Values[tt.key].Value; got != tt.want {
				t.Errorf("%s = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestParseConfigRejects(t *testing.T) {
	for name, data := range map[string][]byte{
		"binary": {0x7f, 'E', 'L', 'F', 0, 0, 1},
		"prose":  []byte("hello world\n"),
		// key = value text in which no smb.conf(5) parameter appears is
		// not an smb.conf: no confident Samba-default prediction from it.
		"x = y":         []byte(strings.Repeat("x = y\n", 1000)),
		"ini":           []byte("[database]\nhost = db1\nport = 5432\n[cache]\nsize = 10\n"),
		"key=value env": []byte("USER=root\nHOME=/root\n"),
	} {
		if _, err := ParseConfig(name, data); err == nil {
			t.Errorf("%s: parsed", name)
		} else if name != "binary" && name != "prose" && !strings.Contains(err.Error(), "no smb.conf(5) parameter recognised") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A deleted value in a .reg falls back to the default.
	cfg, err := ParseConfig("d.reg", []byte("Windows Registry Editor Version 5.00\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Lsa]\n\"RestrictAnonymous\"=dword:1\n\"RestrictAnonymous\"=-\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Values[RestrictAnonymous]; ok {
		t.Error("deleted value still set")
	}
	if _, err := ParseConfig("bad.reg", []byte("Windows Registry Editor Version 5.00\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Lsa]\n\"RestrictAnonymous\"=dword:zz\n")); err == nil {
		t.Error("bad dword accepted")
	}
}

func FuzzParseConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 1<<16 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := ParseConfig("fuzz", b)
		if err != nil {
			return
		}
		_ = Predict(cfg)
	})
}

// TestEmptySmbConf: Samba runs on an empty smb.conf (every parameter at its
// default), so an empty file, or one of comments and [global] only, is a
// valid smb.conf; its prediction is Samba's defaults.
func TestEmptySmbConf(t *testing.T) {
	for _, text := range []string{"", "\n\n", "# nothing here\n; nor here\n", "[global]\n"} {
		cfg, err := ParseConfig("smb.conf", []byte(text))
		if err != nil {
			t.Errorf("%q: %v", text, err)
			continue
		}
		if cfg.Platform() != "samba" {
			t.Errorf("%q: platform %s", text, cfg.Platform())
		}
		p := Predict(cfg)
		got := map[string]string{}
		for _, e := range p.Exposure {
			got[e.Name] = e.Value
		}
		// smb.conf(5) defaults: restrict anonymous = 0, map to guest = Never.
		if got[ExpNullSession] != Yes || got[ExpGuest] != No {
			t.Errorf("%q: prediction %v", text, got)
		}
	}
}

// TestReadConfigCapped: a file over MaxPolicyFile is refused after reading
// at most the cap (a stream such as /dev/zero too), never held whole.
func TestReadConfigCapped(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.conf")
	line := "restrict anonymous = 2\n"
	if err := os.WriteFile(big, []byte(strings.Repeat(line, MaxPolicyFile/len(line)+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{big, "/dev/zero"} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		_, err := ReadConfig(p)
		if err == nil || !strings.Contains(err.Error(), "larger than 8 MiB") {
			t.Errorf("%s: %v", p, err)
		}
	}
	ok := filepath.Join(dir, "ok.conf")
	if err := os.WriteFile(ok, []byte(strings.Repeat(line, MaxPolicyFile/len(line))), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadConfig(ok); err != nil {
		t.Errorf("a file at the cap: %v", err)
	}
}

// TestReadConfigSourcesByPath: evidence names each file by the path given,
// so that two files called smb.conf are told apart.
func TestReadConfigSourcesByPath(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a", "smb.conf"), filepath.Join(dir, "b", "smb.conf")
	for p, text := range map[string]string{a: "[global]\nrestrict anonymous = 1\n", b: "[global]\nmap to guest = bad user\n"} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := ReadConfig(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Values[SambaRestrictAnonymous].Source; got != a+":2" {
		t.Errorf("restrict anonymous from %q, want %q", got, a+":2")
	}
	if got := cfg.Values[SambaMapToGuest].Source; got != b+":2" {
		t.Errorf("map to guest from %q, want %q", got, b+":2")
	}
	if !slices.Equal(cfg.Files, []string{a, b}) {
		t.Errorf("files %v", cfg.Files)
	}
}

// Package lab starts and stops real Samba servers on loopback addresses, one
// per posture, so tests, demos and users can meet a null session safely.
package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Posture is one victim: a Samba server on its own loopback address.
type Posture struct {
	Name    string // "open", "restricted", …
	Addr    string // IPv4 loopback address it binds to
	NetBIOS string // NetBIOS computer name
	DC      bool   // Samba AD DC ("samba"), not a standalone smbd
	NMBD    bool   // also runs nmbd (NetBIOS name service, browser)
	Summary string // one line for status and the README
	// Options, when set, replace the posture's own smb.conf [global] lines
	// (see Custom); Shares is appended as share sections.
	Options []string
	Shares  string
}

// Custom is a standalone posture that is not in the table: base's
// accounts and shares under a name and loopback address of its own, with
// options in place of base's [global] lines and shares appended ($POSTURE_DIR
// in them is the posture's directory, which holds shares/public). Tests use
// it to change a setting on a server no other test shares, and to serve
// text a real server would send (a share comment, say).
func Custom(name, addr, base string, options []string, shares string) (Posture, error) {
	b, err := Lookup(base)
	if err != nil {
		return Posture{}, err
	}
	if b.DC {
		return Posture{}, fmt.Errorf("lab: custom postures are standalone; %s is a DC", base)
	}
	if _, err := Lookup(name); err == nil {
		return Posture{}, fmt.Errorf("lab: custom posture %q would shadow the table's", name)
	}
	if options == nil {
		options = postureOptions(base)
	}
	if len(name) > 15 {
		return Posture{}, fmt.Errorf("lab: custom posture name %q: at most 15 characters (it is the NetBIOS name too)", name)
	}
	return Posture{Name: name, Addr: addr, NetBIOS: strings.ToUpper(name), Options: options, Shares: shares,
		Summary: "custom, from " + base}, nil
}

// options are the [global] lines that make p what it is.
func (p Posture) options() []string {
	if p.Options != nil {
		return p.Options
	}
	return postureOptions(p.Name)
}

// postures is the fixed table; docs/samba.md describes what each shows.
var postures = []Posture{
	{Name: "open", Addr: "127.0.0.2", NetBIOS: "OPENSRV", NMBD: true,
		Summary: "restrict anonymous = 0, SMB1..3.1.1, guest mapping, nmbd"},
	{Name: "restricted", Addr: "127.0.0.3", NetBIOS: "RESTRICTSRV",
		Summary: "restrict anonymous = 2"},
	{Name: "smb1only", Addr: "127.0.0.4", NetBIOS: "SMB1SRV",
		Summary: "SMB1 (NT1) only, restrict anonymous = 0"},
	{Name: "smb2only", Addr: "127.0.0.5", NetBIOS: "SMB2SRV",
		Summary: "SMB2_02..3.1.1 only, restrict anonymous = 0"},
	{Name: "restricted1", Addr: "127.0.0.6", NetBIOS: "RESTRICT1SRV",
		Summary: "restrict anonymous = 1"},
	{Name: "bulk", Addr: "127.0.0.7", NetBIOS: "BULKSRV",
		Summary: "as open + 2000 users bulkuser00001.."},
	{Name: "dc", Addr: "127.0.0.10", NetBIOS: "DC1", DC: true,
		Summary: "Samba AD DC, realm LAB.TEST, domain LAB"},
}

// Postures returns every posture, in table order.
func Postures() []Posture { return append([]Posture(nil), postures...) }

// DefaultNames are the postures started when none is named: all but bulk,
// whose 2000-user import costs time most runs do not need.
func DefaultNames() []string {
	var n []string
	for _, p := range postures {
		if p.Name != "bulk" {
			n = append(n, p.Name)
		}
	}
	return n
}

// Lookup finds a posture by name.
func Lookup(name string) (Posture, error) {
	for _, p := range postures {
		if p.Name == name {
			return p, nil
		}
	}
	names := make([]string, len(postures))
	for i, p := range postures {
		names[i] = p.Name
	}
	return Posture{}, fmt.Errorf("lab: unknown posture %q (known: %s)", name, strings.Join(names, ", "))
}

// DefaultDir is the lab directory: $NULLSWEEP_LAB_DIR or /tmp/nullsweep-lab.
func DefaultDir() string {
	if d := os.Getenv("NULLSWEEP_LAB_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "nullsweep-lab")
}

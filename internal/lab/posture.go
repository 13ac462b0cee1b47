// Package lab starts and stops real Samba servers on loopback addresses, one
// per posture, so tests, demos and users can meet a null session safely.
package lab

import (
	"fmt"
	"os"
	"path/filepath"
)

// Posture is one victim: a Samba server on its own loopback address.
type Posture struct {
	Name    string // "open", "restricted", …
	Addr    string // IPv4 loopback address it binds to
	NetBIOS string // NetBIOS computer name
	DC      bool   // Samba AD DC ("samba"), not a standalone smbd
	NMBD    bool   // also runs nmbd (NetBIOS name service, browser)
	Summary string // one line for status and the README
}

// postures is the fixed table; lab-findings.md describes what each shows.
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
	return Posture{}, fmt.Errorf("lab: unknown posture %q (known: %v)", name, names)
}

// DefaultDir is the lab directory: $NULLSWEEP_LAB_DIR or /tmp/nullsweep-lab.
func DefaultDir() string {
	if d := os.Getenv("NULLSWEEP_LAB_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "nullsweep-lab")
}

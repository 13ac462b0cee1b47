package pcap

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportGolden renders the text report of Windows captures chosen for
// what they show: an SMB1 guest session enumerating shares and looking up
// a name (XP), the anonymous SMB1 session of Server 2019, the old
// non-NTLMSSP null session of 2008 R2, refused anonymous SAMR on 2019, and
// an authenticated SAMR user enumeration (2022).
func TestReportGolden(t *testing.T) {
	for _, name := range []string{
		"raw_ntlm_in_smb.pcap",
		"suricata_ws2019_anon_smb1_ipc.pcap",
		"suricata_ws2008r2_legacy_null_session.pcap",
		"suricata_zerologon_ws2019_anon_samr.pcap",
		"samrlab_rpcclient_enumdomusers.pcapng",
		"aduser1.pcap",
		"ldap_invalid_credentials.pcap",
		"../lab/open.pcapng",
	} {
		t.Run(name, func(t *testing.T) {
			rep, err := ReadFiles(context.Background(), []string{filepath.Join("testdata/captures", name)}, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := rep.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", filepath.Base(name)+".golden"), b.String())
		})
	}
}

// TestNoSecrets: the JSON report of authenticated sessions carries the
// names the client sent and nothing of its proofs: no NTLM response, no
// server challenge, no session key.
func TestNoSecrets(t *testing.T) {
	rep, err := ReadFiles(context.Background(), []string{"testdata/captures/samrlab_rpcclient_enumdomusers.pcapng", "testdata/captures/raw_ntlm_in_smb.pcap"}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ToLower(string(b))
	for _, bad := range []string{"response", "challenge", "session_key", "hash", "password\":"} {
		if strings.Contains(s, bad) {
			t.Errorf("report JSON contains %q", bad)
		}
	}
	if !strings.Contains(string(b), `"user":"enum"`) || !strings.Contains(string(b), `"user":"test"`) {
		t.Errorf("logon user names missing: %s", b)
	}
}

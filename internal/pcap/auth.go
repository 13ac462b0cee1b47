package pcap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/nullsweep/nullsweep/internal/ntlmssp"
)

// ntlmSignature starts every NTLMSSP message ([MS-NLMP] 2.2.1).
var ntlmSignature = []byte("NTLMSSP\x00")

// krb5OIDs are the DER encodings of the Kerberos mechanism OIDs
// (1.2.840.113554.1.2.2 and the Microsoft 1.2.840.48018.1.2.2), as they
// appear in SPNEGO ([RFC 4178], [MS-SPNG]).
var krb5OIDs = [][]byte{
	{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02},
	{0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02},
}

// pendingLogon is what a session setup request said, kept until the
// response gives its status. Only names: never the responses.
type pendingLogon struct {
	frame       int
	kind        string
	mechanism   string
	user        string
	domain      string
	workstation string
}

// securityBlob reads the NTLMSSP message inside an SPNEGO token (or a raw
// one), records it, and fills l from an AUTHENTICATE. It returns the
// CHALLENGE when the blob carries one.
func (c *conv) securityBlob(frame int, blob []byte, l *pendingLogon) *ntlmssp.Challenge {
	i := bytes.Index(blob, ntlmSignature)
	if i < 0 {
		if l != nil && len(blob) > 0 {
			// A Kerberos AP-REQ, not only a mechanism list: the GSS-API
			// token's OID then TOK_ID 01 00 ([RFC 4121] 4.1), or a bare
			// AP-REQ's pvno 5 and msg-type 14 ([RFC 4120] 5.5.1), as
			// Windows puts in an LDAP SPNEGO mechToken.
			apReq := bytes.Contains(blob, []byte{0xa0, 0x03, 0x02, 0x01, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x0e})
			for _, oid := range krb5OIDs {
				apReq = apReq || bytes.Contains(blob, append(append([]byte{0x06, 0x09}, oid...), 0x01, 0x00))
			}
			if apReq && l.kind == "" {
				l.kind = LogonKerberos
				if l.mechanism == "" {
					l.mechanism = "kerberos"
				}
			}
		}
		return nil
	}
	m := blob[i:]
	if len(m) < 12 {
		return nil
	}
	typ := binary.LittleEndian.Uint32(m[8:])
	f := map[string][]string{"ntlmssp.messagetype": {strconv.Itoa(int(typ))}}
	var ch *ntlmssp.Challenge
	switch typ {
	case 1:
		if len(m) >= 16 {
			f["ntlmssp.negotiateflags"] = []string{u32(binary.LittleEndian.Uint32(m[12:]))}
		}
		if l != nil && l.mechanism == "" {
			l.mechanism = "ntlmssp"
		}
	case 2:
		var err error
		ch, err = ntlmssp.ParseChallenge(m)
		if err != nil {
			c.d.undecoded(frame, "ntlmssp challenge", err.Error())
			return nil
		}
		f["ntlmssp.negotiateflags"] = []string{u32(ch.Flags)}
		if ch.HasVersion {
			f["ntlmssp.version.major"] = []string{strconv.Itoa(int(ch.Major))}
			f["ntlmssp.version.minor"] = []string{strconv.Itoa(int(ch.Minor))}
			f["ntlmssp.version.build_number"] = []string{strconv.Itoa(int(ch.Build))}
		}
		if ch.NetBIOSComputer != "" {
			f["ntlmssp.challenge.target_info.nb_computer_name"] = []string{ch.NetBIOSComputer}
		}
		if ch.NetBIOSDomain != "" {
			f["ntlmssp.challenge.target_info.nb_domain_name"] = []string{ch.NetBIOSDomain}
		}
		if ch.DNSComputer != "" {
			f["ntlmssp.challenge.target_info.dns_computer_name"] = []string{ch.DNSComputer}
		}
		if ch.DNSDomain != "" {
			f["ntlmssp.challenge.target_info.dns_domain_name"] = []string{ch.DNSDomain}
		}
	case 3:
		a, err := ntlmssp.ParseAuthenticate(m)
		if err != nil {
			c.d.undecoded(frame, "ntlmssp authenticate", err.Error())
			return nil
		}
		f["ntlmssp.negotiateflags"] = []string{u32(a.Flags)}
		f["ntlmssp.auth.username"] = []string{nullName(a.User)}
		f["ntlmssp.auth.domain"] = []string{nullName(a.Domain)}
		f["ntlmssp.auth.hostname"] = []string{nullName(a.Workstation)}
		if l != nil {
			l.mechanism = "ntlmssp"
			l.user, l.domain, l.workstation = a.User, a.Domain, a.Workstation
			// [MS-NLMP] 3.2.5.1.2: anonymous is an empty user with an
			// empty NT response and an empty (or one zero byte) LM one.
			if a.User == "" && len(a.NTResponse) == 0 && (len(a.LMResponse) == 0 || bytes.Equal(a.LMResponse, []byte{0})) {
				l.kind = LogonNull
			} else {
				l.kind = LogonUser
			}
		}
	default:
		return nil
	}
	c.d.message(frame, "ntlmssp", f)
	return ch
}

// nullName is tshark's rendering of an empty NTLMSSP name.
func nullName(s string) string {
	if s == "" {
		return "NULL"
	}
	return s
}

// serverInfo merges what a CHALLENGE says about the server.
func (c *conv) challengeInfo(ch *ntlmssp.Challenge) {
	if ch == nil {
		return
	}
	si := c.serverInfo()
	si.NetBIOSComputer = ch.NetBIOSComputer
	si.NetBIOSDomain = ch.NetBIOSDomain
	si.DNSComputer = ch.DNSComputer
	si.DNSDomain = ch.DNSDomain
	if ch.HasVersion {
		si.NTLMVersion = fmt.Sprintf("%d.%d.%d", ch.Major, ch.Minor, ch.Build)
	}
}

func (c *conv) serverInfo() *ServerInfo {
	if c.rep.ServerInfo == nil {
		c.rep.ServerInfo = &ServerInfo{}
	}
	return c.rep.ServerInfo
}

// logonDone records a finished (or refused) session setup. guest is the
// server's word that it mapped the session to the guest account.
func (c *conv) logonDone(frame int, session string, l *pendingLogon, status string, guest bool) string {
	lo := Logon{Frame: frame, Session: session, Kind: LogonUnknown, Status: status}
	if l != nil {
		lo.Kind, lo.Mechanism = l.kind, l.mechanism
		lo.User, lo.Domain, lo.Workstation = l.user, l.domain, l.workstation
		if lo.Kind == "" {
			lo.Kind = LogonUnknown
		}
	}
	if guest && lo.Kind != LogonNull {
		lo.Kind = LogonGuest
	}
	c.rep.Logons = bounded(c.d, c.rep.Logons, lo)
	return lo.Kind
}

func u32(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
func u64(v uint64) string { return strconv.FormatUint(v, 10) }

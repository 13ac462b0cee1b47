package pcap

import (
	"fmt"
	"strconv"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// LDAP over TCP 389 / 3268 (RFC 4511): binds (who, never the password),
// searches and what they returned, the rootDSE above all. Each LDAPMessage
// is one BER SEQUENCE; after a SASL bind that negotiated signing or
// sealing, messages are wrapped (RFC 4752 3.3 style length-prefixed
// tokens) and listed as not decoded.

// maxLDAPMessage bounds what the BER decoder is given: it builds a node
// per element (a few hundred bytes for two on the wire), so the message
// is held small. Search entries travel one per message; Windows and Samba
// keep them far below this.
const maxLDAPMessage = 128 << 10

// LDAP protocol operations ([RFC 4511] 4.2-4.12, application tags).
const (
	ldapBindRequest   = 0
	ldapBindResponse  = 1
	ldapUnbind        = 2
	ldapSearchRequest = 3
	ldapSearchEntry   = 4
	ldapSearchDone    = 5
	ldapSearchRef     = 19
	ldapExtendedReq   = 23
	ldapExtendedResp  = 24
)

type ldapState struct {
	c        *conv
	binds    map[int64]*pendingLogon
	searches map[int64]*ldapSearch
	logon    string // kind of the bind in force
}

type ldapSearch struct {
	frame   int
	base    string
	scope   int64
	entries int
	rootDSE bool
}

func newLDAP(c *conv) *ldapState {
	return &ldapState{c: c, binds: map[int64]*pendingLogon{}, searches: map[int64]*ldapSearch{}, logon: LogonAnonymous}
}

func (l *ldapState) close() {
	for id, s := range l.searches {
		l.c.addCall(Call{RequestFrame: s.frame, Pipe: "ldap", Interface: "ldap", Name: s.name(), Logon: l.logon, Decoded: true, Note: "no result seen", Disclosed: s.entries})
		delete(l.searches, id)
	}
}

func (s *ldapSearch) name() string {
	scopes := []string{"base", "one level", "subtree"}
	sc := strconv.FormatInt(s.scope, 10)
	if s.scope >= 0 && s.scope < 3 {
		sc = scopes[s.scope]
	}
	base := s.base
	if base == "" {
		base = "rootDSE"
	}
	return fmt.Sprintf("search %s (%s)", base, sc)
}

// ldapResultNames are the RFC 4511 4.1.9 result codes reports name.
var ldapResultNames = map[int64]string{
	0: "success", 1: "operationsError", 2: "protocolError", 4: "sizeLimitExceeded", 7: "authMethodNotSupported",
	8: "strongerAuthRequired", 14: "saslBindInProgress", 32: "noSuchObject", 48: "inappropriateAuthentication",
	49: "invalidCredentials", 50: "insufficientAccessRights", 53: "unwillingToPerform",
}

func ldapResult(code int64) string {
	if n, ok := ldapResultNames[code]; ok {
		return n
	}
	return fmt.Sprintf("resultCode %d", code)
}

func (l *ldapState) message(frame int, msg []byte) {
	c := l.c
	if len(msg) > maxLDAPMessage {
		c.d.undecoded(frame, "ldap", fmt.Sprintf("message of %d bytes, over the %d-byte cap", len(msg), maxLDAPMessage))
		return
	}
	p, err := ber.DecodePacketErr(msg)
	if err != nil || len(p.Children) < 2 {
		c.d.undecoded(frame, "ldap", fmt.Sprintf("not an LDAPMessage: %v", err))
		return
	}
	id, ok := p.Children[0].Value.(int64)
	op := p.Children[1]
	if !ok || op.ClassType != ber.ClassApplication {
		c.d.undecoded(frame, "ldap", "not an LDAPMessage")
		return
	}
	f := map[string][]string{
		"ldap.messageID":  {strconv.FormatInt(id, 10)},
		"ldap.protocolOp": {strconv.Itoa(int(op.Tag))},
	}
	defer c.d.message(frame, "ldap", f)
	kids := op.Children
	switch op.Tag {
	case ldapBindRequest:
		if len(kids) < 3 {
			return
		}
		lo := l.binds[id]
		if lo == nil {
			lo = &pendingLogon{frame: frame}
		}
		name := str(kids[1])
		auth := kids[2]
		switch auth.Tag {
		case 0: // simple: the password is never read, only whether there is one
			lo.mechanism = "simple"
			lo.user = name
			if len(auth.ByteValue) == 0 && auth.Data.Len() == 0 {
				// RFC 4513 5.1.1 anonymous, 5.1.2 unauthenticated (a
				// name, no password): both are anonymous to the server.
				lo.kind = LogonNull
			} else {
				lo.kind = LogonUser
			}
		case 3: // SASL: mechanism and credentials
			if len(auth.Children) > 0 {
				lo.mechanism = "sasl " + str(auth.Children[0])
				f["ldap.mechanism"] = []string{str(auth.Children[0])}
			}
			if len(auth.Children) > 1 {
				c.securityBlob(frame, raw(auth.Children[1]), lo)
			}
			if lo.user == "" && name != "" {
				lo.user = name
			}
		}
		if len(l.binds) < maxOutstanding {
			l.binds[id] = lo
		}
	case ldapBindResponse:
		if len(kids) < 3 {
			return
		}
		code, _ := kids[0].Value.(int64)
		f["ldap.resultCode"] = []string{strconv.FormatInt(code, 10)}
		for _, k := range kids[3:] {
			if k.ClassType == ber.ClassContext && k.Tag == 7 { // serverSaslCreds
				c.challengeInfo(c.securityBlob(frame, raw(k), nil))
			}
		}
		if code == 14 { // saslBindInProgress: the next request continues it
			return
		}
		lo := l.binds[id]
		delete(l.binds, id)
		if lo != nil && lo.kind == "" && strings.HasPrefix(lo.mechanism, "sasl GSSAPI") {
			lo.kind = LogonKerberos
		}
		kind := c.logonDone(frame, "ldap", lo, ldapResult(code), false)
		if code == 0 {
			l.logon = kind
		}
	case ldapSearchRequest:
		if len(kids) < 2 || len(l.searches) >= maxOutstanding {
			return
		}
		s := &ldapSearch{frame: frame, base: str(kids[0])}
		s.scope, _ = kids[1].Value.(int64)
		s.rootDSE = s.base == "" && s.scope == 0
		l.searches[id] = s
		f["ldap.baseObject"] = []string{s.base}
	case ldapSearchEntry:
		s := l.searches[id]
		if len(kids) < 1 {
			return
		}
		dn := str(kids[0])
		f["ldap.objectName"] = []string{dn}
		attrs := map[string][]string{}
		if len(kids) > 1 {
			for _, a := range kids[1].Children {
				if len(a.Children) < 2 || len(attrs) >= 512 {
					continue
				}
				t := str(a.Children[0])
				for _, v := range a.Children[1].Children {
					if len(attrs[t]) < 256 {
						attrs[t] = append(attrs[t], str(v))
					}
				}
			}
		}
		if s == nil {
			return
		}
		s.entries++
		d := &c.rep.Disclosed
		if s.rootDSE {
			d.RootDSE = attrs
			return
		}
		e := LDAPEntry{DN: dn}
		if v := attrs["sAMAccountName"]; len(v) > 0 {
			e.SAMAccountName = v[0]
		}
		if len(d.LDAPEntries) < c.d.lim.MaxRecords {
			d.LDAPEntries = append(d.LDAPEntries, e)
		}
	case ldapSearchDone:
		if len(kids) < 1 {
			return
		}
		code, _ := kids[0].Value.(int64)
		f["ldap.resultCode"] = []string{strconv.FormatInt(code, 10)}
		s := l.searches[id]
		if s == nil {
			return
		}
		delete(l.searches, id)
		c.addCall(Call{RequestFrame: s.frame, Frame: frame, Pipe: "ldap", Interface: "ldap", Name: s.name(),
			Status: ldapResult(code), Logon: l.logon, Decoded: true, Disclosed: s.entries, rootDSE: s.rootDSE})
	}
}

// str is an OCTET STRING's text.
func str(p *ber.Packet) string {
	if s, ok := p.Value.(string); ok {
		return s
	}
	if p.Data != nil {
		return p.Data.String()
	}
	return ""
}

// raw is a primitive element's content octets.
func raw(p *ber.Packet) []byte {
	if p.Data != nil {
		return p.Data.Bytes()
	}
	return p.ByteValue
}

// ldapLength is the length of the BER element at the start of b (tag,
// length and content), 0 when more bytes are needed, -1 when b does not
// start an LDAPMessage (a SEQUENCE with a definite length of at most
// four length octets).
func ldapLength(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	if b[0] != 0x30 {
		return -1
	}
	if b[1] < 0x80 {
		return 2 + int(b[1])
	}
	n := int(b[1] & 0x7f)
	if n == 0 || n > 4 {
		return -1
	}
	if len(b) < 2+n {
		return 0
	}
	l := 0
	for _, x := range b[2 : 2+n] {
		l = l<<8 | int(x)
	}
	if l < 0 || l > 1<<30 {
		return -1
	}
	return 2 + n + l
}

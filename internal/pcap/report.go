package pcap

// Report is what a set of captures shows. Its JSON form is documented in
// docs/pcap.md.
type Report struct {
	Files         []File          `json:"files"`
	Conversations []*Conversation `json:"conversations"`
	Findings      []Finding       `json:"findings"`
	// NotDecoded lists what was seen and not decoded (a call without a
	// decoder, an encrypted session, a gap in a stream), up to
	// Limits.MaxRecords; NotDecodedTotal counts them all.
	NotDecoded      []Undecoded `json:"not_decoded"`
	NotDecodedTotal int         `json:"not_decoded_total"`
	Stats           Stats       `json:"stats"`
	Limits          Limits      `json:"limits"`

	// Messages are the decoded SMB, NTLMSSP and DCE/RPC messages with
	// their header fields, in frame order, for comparison with other
	// dissectors. Not part of the JSON report.
	Messages []Message `json:"-"`

	// leftover is what stayed taken from the budget after every
	// connection ended: always 0 unless something was not given back.
	leftover int
}

// File is one capture read.
type File struct {
	Name    string `json:"name"`
	Packets int    `json:"packets"`
	// Error is why reading stopped before the end of the file; what was
	// read before it is in the report.
	Error string `json:"error,omitempty"`
}

// Stats count what the reader went through.
type Stats struct {
	Packets      int `json:"packets"`
	TCPSegments  int `json:"tcp_segments"`
	UDPDatagrams int `json:"udp_datagrams"`
	Conns        int `json:"tcp_connections"`
	ConnsDropped int `json:"tcp_connections_not_followed"`
	Gaps         int `json:"stream_gaps"`
	PeakBuffered int `json:"peak_buffered_bytes"`
	SkippedLink  int `json:"packets_other_link"`
	SkippedOther int `json:"packets_not_tcp_udp"`
	// NotListed counts conversations, logons, trees and pipes past
	// Limits.MaxRecords: seen, counted, not in the report.
	NotListed int `json:"records_not_listed"`
}

// Conversation is one TCP connection from a client to a server that
// carried SMB or DCE/RPC.
type Conversation struct {
	File       string      `json:"file"`
	FirstFrame int         `json:"first_frame"`
	Client     string      `json:"client"`
	Server     string      `json:"server"`
	Transport  string      `json:"transport"` // "smb", "dcerpc-tcp", "nbns", "ldap" or "ldaps"
	Dialect    string      `json:"dialect,omitempty"`
	Encrypted  bool        `json:"encrypted,omitempty"`
	ServerInfo *ServerInfo `json:"server_info,omitempty"`
	Logons     []Logon     `json:"logons"`
	Trees      []Tree      `json:"trees"`
	Pipes      []Pipe      `json:"pipes"`
	Calls      []Call      `json:"calls"`
	Disclosed  Disclosed   `json:"disclosed"`
}

// ServerInfo is what the server said about itself in NEGOTIATE, the NTLM
// CHALLENGE or an SMB1 SESSION_SETUP response.
type ServerInfo struct {
	NetBIOSComputer string `json:"netbios_computer,omitempty"`
	NetBIOSDomain   string `json:"netbios_domain,omitempty"`
	DNSComputer     string `json:"dns_computer,omitempty"`
	DNSDomain       string `json:"dns_domain,omitempty"`
	NTLMVersion     string `json:"ntlm_version,omitempty"`
	NativeOS        string `json:"native_os,omitempty"`
	NativeLanMan    string `json:"native_lanman,omitempty"`
}

// Logon kinds.
const (
	LogonNull      = "null"      // empty user and empty password
	LogonGuest     = "guest"     // the server mapped the session to guest
	LogonUser      = "user"      // a named user
	LogonKerberos  = "kerberos"  // a Kerberos ticket; no user name on the wire
	LogonUnknown   = "unknown"   // the request was not seen or not read
	LogonAnonymous = "anonymous" // DCE/RPC over TCP without authentication
)

// Logon is one session setup. No secret is kept: no hash, no challenge
// response, no key, only the names the client sent.
type Logon struct {
	Frame       int    `json:"frame"`
	Session     string `json:"session"` // SMB2 SessionId or SMB1 UID, hex
	Kind        string `json:"kind"`
	User        string `json:"user,omitempty"`
	Domain      string `json:"domain,omitempty"`
	Workstation string `json:"workstation,omitempty"`
	Mechanism   string `json:"mechanism,omitempty"` // "ntlmssp", "plain", "kerberos"
	Status      string `json:"status"`
}

// Tree is one tree connect.
type Tree struct {
	Frame  int    `json:"frame"`
	Path   string `json:"path"`
	Status string `json:"status"`
}

// Pipe is one open of a named pipe.
type Pipe struct {
	Frame  int    `json:"frame"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Logon  string `json:"logon"` // kind of the session it was opened on
}

// Call is one DCE/RPC request and its response (or the lack of one).
type Call struct {
	RequestFrame int    `json:"request_frame"`
	Frame        int    `json:"frame,omitempty"` // of the response; 0 if none was seen
	Pipe         string `json:"pipe"`            // pipe name, or "tcp"
	Interface    string `json:"interface"`
	Opnum        uint16 `json:"opnum"`
	Name         string `json:"name"`
	Status       string `json:"status,omitempty"` // the call's NTSTATUS/WERROR, or a fault
	Logon        string `json:"logon"`
	Decoded      bool   `json:"decoded"`
	Disclosed    int    `json:"disclosed,omitempty"` // items the reply gave away

	rootDSE bool   // an LDAP rootDSE read: anonymous by design (RFC 4512 5.1)
	Note    string `json:"note,omitempty"` // why not decoded
}

// Disclosed is what the server's replies gave away.
type Disclosed struct {
	Domains     []Domain        `json:"domains,omitempty"`
	Users       []Account       `json:"users,omitempty"`
	Groups      []Account       `json:"groups,omitempty"`
	Aliases     []Account       `json:"aliases,omitempty"`
	Names       []Name          `json:"names,omitempty"` // SID ↔ name translations
	Shares      []Share         `json:"shares,omitempty"`
	Policy      *PasswordPolicy `json:"password_policy,omitempty"`
	Server      *RPCServer      `json:"server,omitempty"`
	Endpoints   []string        `json:"endpoints,omitempty"`
	TrustedDoms []Domain        `json:"trusted_domains,omitempty"`
	NetBIOS     []NetBIOSName   `json:"netbios,omitempty"`
	// RootDSE is every attribute of an LDAP rootDSE search result.
	RootDSE     map[string][]string `json:"ldap_root_dse,omitempty"`
	LDAPEntries []LDAPEntry         `json:"ldap_entries,omitempty"`
}

// LDAPEntry is one entry an LDAP search returned.
type LDAPEntry struct {
	DN             string `json:"dn"`
	SAMAccountName string `json:"sam_account_name,omitempty"`
}

// NetBIOSName is one name of an NBNS node status response.
type NetBIOSName struct {
	Name   string `json:"name"`
	Suffix string `json:"suffix"` // "<20>"
	Group  bool   `json:"group"`
	Role   string `json:"role"`
}

// Domain is a domain name and, where known, its SID.
type Domain struct {
	Name string `json:"name"`
	SID  string `json:"sid,omitempty"`
}

// Account is a user, group or alias with its RID (and SID when the
// domain's SID is known from the same conversation).
type Account struct {
	Name        string `json:"name"`
	RID         uint32 `json:"rid"`
	SID         string `json:"sid,omitempty"`
	FullName    string `json:"full_name,omitempty"`
	Description string `json:"description,omitempty"`
}

// Name is one LSA or SAMR translation.
type Name struct {
	SID    string `json:"sid,omitempty"`
	Name   string `json:"name"`
	Domain string `json:"domain,omitempty"`
	Type   string `json:"type"`
}

// Share is one share of NetShareEnum (SRVSVC or RAP).
type Share struct {
	Name   string `json:"name"`
	Type   uint32 `json:"type"`
	Remark string `json:"remark,omitempty"`
}

// PasswordPolicy is what SamrQueryInformationDomain(2) and
// SamrGetDomainPasswordInformation returned.
type PasswordPolicy struct {
	MinLength        *uint16  `json:"min_length,omitempty"`
	HistoryLength    *uint16  `json:"history_length,omitempty"`
	Properties       []string `json:"properties,omitempty"`
	LockoutThreshold *uint16  `json:"lockout_threshold,omitempty"`
}

// RPCServer is what NetrServerGetInfo, NetrWkstaGetInfo or RAP's
// NetServerGetInfo returned.
type RPCServer struct {
	Name     string `json:"name,omitempty"`
	Domain   string `json:"domain,omitempty"`
	Platform uint32 `json:"platform,omitempty"`
	Version  string `json:"version,omitempty"`
	Comment  string `json:"comment,omitempty"`
}

// Finding is an exposure seen in the traffic.
type Finding struct {
	ID     string `json:"id"`
	Client string `json:"client"`
	Server string `json:"server"`
	Frame  int    `json:"frame"`
	Call   string `json:"call"`
	Text   string `json:"text"`
}

// Finding ids.
const (
	FindingNullEnumeration = "null-session-enumeration"
)

// Undecoded is one thing the reader saw and did not decode, and why.
type Undecoded struct {
	File   string `json:"file"`
	Frame  int    `json:"frame"`
	What   string `json:"what"`
	Reason string `json:"reason"`
}

// Message is one decoded protocol message: its frame, its layer ("smb",
// "smb2", "ntlmssp", "dcerpc", "samr", "lsarpc", "srvsvc") and fields
// named as tshark names them, values in decimal or as text.
type Message struct {
	File   string
	Frame  int
	Layer  string
	Fields map[string][]string
}

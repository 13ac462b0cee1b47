// Package ldap asks a directory server what it tells anyone: the rootDSE
// over an anonymous bind (RFC 4511 4.2, RFC 4512 5.1), whether an anonymous
// search of the default naming context returns users (and the result code
// when it is refused), and on the TLS ports the certificate. Ports 389, 636
// (LDAPS), 3268 and 3269 (global catalog) are probed; a port that refuses
// the connection is reported closed, not as an error.
//
// The LDAP protocol is github.com/go-ldap/ldap/v3; this package bounds it:
// every connection takes its deadline from the context, a message may not
// exceed MaxMessage, a search stops at its size limit whatever the server
// sends.
package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"syscall"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/nullsweep/nullsweep/internal/ctxio"
)

// MaxMessage bounds one LDAP message (BER element) read from a server. An
// Active Directory rootDSE is a few kilobytes and a user entry with the
// attributes asked for far less; a server claiming more is refused before
// its bytes are read.
const MaxMessage = 1 << 20

func init() {
	// The BER reader's bound is a package variable of the BER module
	// (default 2 GiB); only this package reads BER.
	ber.MaxPacketLengthBytes = MaxMessage
	ber.MaxNestingDepth = 64
}

// Port states, as enum's ports map spells them.
const (
	Open     = "open"
	Closed   = "closed"   // connection refused: nothing listens
	Filtered = "filtered" // no answer to the connect within the deadline
)

// Port is one LDAP port to probe.
type Port struct {
	Number int
	TLS    bool
	GC     bool // global catalog
}

// DefaultPorts are LDAP, LDAPS, global catalog and global catalog over TLS.
var DefaultPorts = []Port{{389, false, false}, {636, true, false}, {3268, false, true}, {3269, true, true}}

// Options tune a probe.
type Options struct {
	// Ports to probe (DefaultPorts).
	Ports []Port
	// SearchLimit is the size limit of the anonymous search (DefaultSearchLimit).
	SearchLimit int
	// PortTimeout bounds each port's work when the context allows more
	// (DefaultPortTimeout).
	PortTimeout time.Duration
	// Roots verifies certificates (the system pool when nil).
	Roots *x509.CertPool
	// Dial opens the TCP connections (a net.Dialer when nil).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

const (
	DefaultSearchLimit = 10
	DefaultPortTimeout = 10 * time.Second
	// connectTimeout is enum's: no answer to a connect in 3 s is filtered.
	connectTimeout = 3 * time.Second
	// maxValues and maxAttrs bound what is kept of one entry.
	maxAttrs  = 256
	maxValues = 1024
)

// Result is what the LDAP ports said.
type Result struct {
	Ports []PortResult `json:"ports"`
}

// PortResult is one port.
type PortResult struct {
	Port  int    `json:"port"`
	TLS   bool   `json:"tls"`
	State string `json:"state,omitempty"` // open, closed, filtered; absent when not examined
	// Layer and Error say where the probe of an open port stopped.
	Layer string `json:"layer,omitempty"` // connect, tls, bind, rootdse, search
	Error string `json:"error,omitempty"`

	Certificate *Certificate `json:"certificate,omitempty"`
	Bind        *Outcome     `json:"anonymous_bind,omitempty"`
	RootDSE     *RootDSE     `json:"root_dse,omitempty"`
	Search      *Search      `json:"anonymous_search,omitempty"`
	// MS is the time the port took; the check of it in enum reports it.
	MS int64 `json:"-"`
}

// Outcome is an LDAP operation's result code.
type Outcome struct {
	Code       uint16 `json:"code"`
	Name       string `json:"name"` // RFC 4511 4.1.9 ("success", "operationsError")
	Diagnostic string `json:"diagnostic,omitempty"`
}

// Certificate is the leaf certificate a TLS port presented.
type Certificate struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	DNSNames  []string  `json:"dns_names,omitzero"`
	// Verified: the chain verifies against the roots and names the host
	// that was dialled. VerifyError says why not.
	Verified    bool   `json:"verified"`
	VerifyError string `json:"verify_error,omitempty"`
	SelfSigned  bool   `json:"self_signed"`
	Expired     bool   `json:"expired"`
}

// Level is a functional level: the value and its Windows Server name.
type Level struct {
	Value string `json:"value"`
	Name  string `json:"name,omitempty"`
}

// RootDSE is the anonymous rootDSE. Attributes holds every attribute as
// read (names as the server spelled them, values in order); the fields
// below are the ones reports use.
type RootDSE struct {
	Attributes map[string][]string `json:"attributes"`

	NamingContexts             []string `json:"naming_contexts,omitzero"`
	DefaultNamingContext       string   `json:"default_naming_context,omitempty"`
	RootDomainNamingContext    string   `json:"root_domain_naming_context,omitempty"`
	ConfigurationNamingContext string   `json:"configuration_naming_context,omitempty"`
	SchemaNamingContext        string   `json:"schema_naming_context,omitempty"`
	DNSHostName                string   `json:"dns_host_name,omitempty"`
	ServerName                 string   `json:"server_name,omitempty"`
	LDAPServiceName            string   `json:"ldap_service_name,omitempty"`
	VendorName                 string   `json:"vendor_name,omitempty"`
	DomainFunctionality        *Level   `json:"domain_functionality,omitempty"`
	ForestFunctionality        *Level   `json:"forest_functionality,omitempty"`
	DCFunctionality            *Level   `json:"domain_controller_functionality,omitempty"`
	SupportedLDAPVersion       []string `json:"supported_ldap_version,omitzero"`
	SupportedSASLMechanisms    []string `json:"supported_sasl_mechanisms,omitzero"`
	SupportedControl           []OID    `json:"supported_control,omitzero"`
	SupportedCapabilities      []OID    `json:"supported_capabilities,omitzero"`
	SupportedExtension         []OID    `json:"supported_extension,omitzero"`
	CurrentTime                string   `json:"current_time,omitempty"`
	IsGlobalCatalogReady       string   `json:"is_global_catalog_ready,omitempty"`
	IsSynchronized             string   `json:"is_synchronized,omitempty"`
}

// Search is the anonymous search of the default naming context for users.
type Search struct {
	Base   string `json:"base"`
	Filter string `json:"filter"`
	// Allowed: the server returned entries or a success/size-limit result
	// rather than refusing.
	Allowed bool    `json:"allowed"`
	Result  Outcome `json:"result"`
	// Entries are the DNs returned (at most the size limit) and their
	// sAMAccountName when given.
	Entries []SearchEntry `json:"entries"`
	Limit   int           `json:"size_limit"`
}

// SearchEntry is one entry of the anonymous search.
type SearchEntry struct {
	DN             string `json:"dn"`
	SAMAccountName string `json:"sam_account_name,omitempty"`
}

// UsersFilter is the anonymous search's filter: user objects.
const UsersFilter = "(&(objectCategory=person)(objectClass=user))"

// Probe examines every port of opt on host.
func Probe(ctx context.Context, host string, opt Options) *Result {
	ports := opt.Ports
	if ports == nil {
		ports = DefaultPorts
	}
	res := &Result{Ports: make([]PortResult, 0, len(ports))}
	for _, p := range ports {
		res.Ports = append(res.Ports, ProbePort(ctx, host, p, opt))
	}
	return res
}

// ProbePort examines one port: connect (and TLS), anonymous bind, rootDSE,
// anonymous search of the default naming context.
func ProbePort(ctx context.Context, host string, p Port, opt Options) (r PortResult) {
	start := time.Now()
	pto := opt.PortTimeout
	if pto <= 0 {
		pto = DefaultPortTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, pto)
	defer cancel()
	r = PortResult{Port: p.Number, TLS: p.TLS}
	// Every return, early or not, carries the time taken.
	defer func() { r.MS = time.Since(start).Milliseconds() }()
	fail := func(layer string, err error) PortResult {
		r.Layer, r.Error = layer, err.Error()
		r.MS = time.Since(start).Milliseconds()
		return r
	}

	dial := opt.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	dctx, dcancel := context.WithTimeout(ctx, connectTimeout)
	raw, err := dial(dctx, "tcp", net.JoinHostPort(host, strconv.Itoa(p.Number)))
	dcancel()
	if err != nil {
		if ctxio.Ended(ctx) {
			// The host's (or this port's) deadline or a cancel ended the
			// connect, not the port: it was not examined, so it has no
			// state, only the error.
			return fail("connect", ctxio.Err(ctx, err))
		}
		r.State = dialState(err)
		if r.State == Closed {
			r.MS = time.Since(start).Milliseconds()
			return r
		}
		return fail("connect", err)
	}
	r.State = Open
	conn := bound(ctx, raw)
	defer conn.Close()
	if p.TLS {
		tc := tls.Client(conn, &tls.Config{
			// The chain is verified below and reported, not enforced: a
			// self-signed DC certificate is the finding, not a reason to stop.
			InsecureSkipVerify: true,
			MinVersion:         tls.VersionTLS10,
		})
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail("tls", ctxErr(ctx, err))
		}
		r.Certificate = certificate(tc.ConnectionState().PeerCertificates, host, opt.Roots, time.Now())
		conn = tc
	}
	l := goldap.NewConn(conn, p.TLS)
	l.Start()
	defer l.Close()

	// ldapsearch -x binds anonymously (empty name, empty password) first.
	if err := l.UnauthenticatedBind(""); err != nil {
		o, ok := outcome(err)
		if !ok {
			return fail("bind", ctxErr(ctx, err))
		}
		r.Bind = &o
		return fail("bind", err)
	}
	r.Bind = &Outcome{Code: 0, Name: resultName(0)}

	dse, err := readRootDSE(l)
	if err != nil {
		return fail("rootdse", ctxErr(ctx, err))
	}
	r.RootDSE = dse
	base := dse.DefaultNamingContext
	if base == "" && len(dse.NamingContexts) > 0 {
		base = dse.NamingContexts[0]
	}
	if base == "" {
		return r
	}
	s, err := search(l, base, opt.SearchLimit)
	if err != nil {
		return fail("search", ctxErr(ctx, err))
	}
	r.Search = s
	return r
}

// dialState tells a refused connection (closed) from one that got no
// answer (filtered).
func dialState(err error) string {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return Closed
	}
	return Filtered
}

// bound ties a connection to ctx: its deadline becomes the connection's,
// and cancelling ctx closes it, so the LDAP reader goroutine cannot
// outlive the probe.
func bound(ctx context.Context, c net.Conn) net.Conn {
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	context.AfterFunc(ctx, func() { c.Close() })
	return c
}

// ctxErr reports the context's reason when it ended the operation. The
// connection's deadline (the context's) can fire a moment before the
// context's own timer: a timeout at or past the deadline is the deadline.
func ctxErr(ctx context.Context, err error) error {
	cerr := ctx.Err()
	if dl, ok := ctx.Deadline(); cerr == nil && ok && !time.Now().Before(dl) {
		cerr = context.DeadlineExceeded
	}
	if cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// outcome extracts the LDAP result of a refused operation.
func outcome(err error) (Outcome, bool) {
	var le *goldap.Error
	if !errors.As(err, &le) || le.ResultCode == goldap.ErrorNetwork || le.ResultCode >= goldap.ErrorNetwork {
		return Outcome{}, false
	}
	diag := ""
	if le.Err != nil {
		diag = le.Err.Error()
	}
	return Outcome{Code: le.ResultCode, Name: resultName(le.ResultCode), Diagnostic: diag}, true
}

func readRootDSE(l *goldap.Conn) (*RootDSE, error) {
	req := goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", nil, nil)
	req.EnforceSizeLimit = true
	sr, err := l.Search(req)
	if err != nil {
		return nil, fmt.Errorf("ldap: rootDSE: %w", err)
	}
	if len(sr.Entries) != 1 {
		return nil, fmt.Errorf("ldap: rootDSE: %d entries", len(sr.Entries))
	}
	e := sr.Entries[0]
	if len(e.Attributes) > maxAttrs {
		return nil, fmt.Errorf("ldap: rootDSE: %d attributes", len(e.Attributes))
	}
	d := &RootDSE{Attributes: make(map[string][]string, len(e.Attributes))}
	for _, a := range e.Attributes {
		if len(a.Values) > maxValues {
			return nil, fmt.Errorf("ldap: rootDSE: %d values of %s", len(a.Values), a.Name)
		}
		d.Attributes[a.Name] = append(d.Attributes[a.Name], a.Values...)
	}
	get := func(name string) []string { return e.GetEqualFoldAttributeValues(name) }
	one := func(name string) string { return e.GetEqualFoldAttributeValue(name) }
	level := func(name string) *Level {
		v := one(name)
		if v == "" {
			return nil
		}
		return &Level{Value: v, Name: functionalLevels[v]}
	}
	d.NamingContexts = get("namingContexts")
	d.DefaultNamingContext = one("defaultNamingContext")
	d.RootDomainNamingContext = one("rootDomainNamingContext")
	d.ConfigurationNamingContext = one("configurationNamingContext")
	d.SchemaNamingContext = one("schemaNamingContext")
	d.DNSHostName = one("dnsHostName")
	d.ServerName = one("serverName")
	d.LDAPServiceName = one("ldapServiceName")
	d.VendorName = one("vendorName")
	d.DomainFunctionality = level("domainFunctionality")
	d.ForestFunctionality = level("forestFunctionality")
	d.DCFunctionality = level("domainControllerFunctionality")
	d.SupportedLDAPVersion = get("supportedLDAPVersion")
	d.SupportedSASLMechanisms = get("supportedSASLMechanisms")
	d.SupportedControl = namedOIDs(slices.Compact(slices.Sorted(slices.Values(get("supportedControl")))))
	d.SupportedCapabilities = namedOIDs(get("supportedCapabilities"))
	d.SupportedExtension = namedOIDs(get("supportedExtension"))
	d.CurrentTime = one("currentTime")
	d.IsGlobalCatalogReady = one("isGlobalCatalogReady")
	d.IsSynchronized = one("isSynchronized")
	return d, nil
}

func search(l *goldap.Conn, base string, limit int) (*Search, error) {
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	limit = min(limit, math.MaxInt32)
	s := &Search{Base: base, Filter: UsersFilter, Limit: limit, Entries: []SearchEntry{}}
	req := goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, limit, 0, false, UsersFilter, []string{"sAMAccountName"}, nil)
	// The client stops at the limit too: a server that ignores it cannot
	// make the probe hold more than limit entries.
	req.EnforceSizeLimit = true
	sr, err := l.Search(req)
	if sr != nil {
		for _, e := range sr.Entries {
			s.Entries = append(s.Entries, SearchEntry{DN: e.DN, SAMAccountName: e.GetEqualFoldAttributeValue("sAMAccountName")})
		}
	}
	switch {
	case err == nil:
		s.Result = Outcome{Code: 0, Name: resultName(0)}
		if sr != nil {
			s.Result.Diagnostic = sr.DiagnosticMessage
		}
	case errors.Is(err, goldap.ErrSizeLimitExceeded):
		s.Result = Outcome{Code: goldap.LDAPResultSizeLimitExceeded, Name: resultName(goldap.LDAPResultSizeLimitExceeded), Diagnostic: "client stopped at the size limit"}
	default:
		o, ok := outcome(err)
		if !ok {
			return nil, fmt.Errorf("ldap: search %s: %w", base, err)
		}
		s.Result = o
	}
	c := s.Result.Code
	s.Allowed = len(s.Entries) > 0 || c == goldap.LDAPResultSuccess || c == goldap.LDAPResultSizeLimitExceeded
	return s, nil
}

// resultName is RFC 4511 4.1.9's name of a result code.
func resultName(code uint16) string {
	if n, ok := resultNames[code]; ok {
		return n
	}
	return strconv.Itoa(int(code))
}

var resultNames = map[uint16]string{
	0: "success", 1: "operationsError", 2: "protocolError", 3: "timeLimitExceeded",
	4: "sizeLimitExceeded", 5: "compareFalse", 6: "compareTrue", 7: "authMethodNotSupported",
	8: "strongerAuthRequired", 10: "referral", 11: "adminLimitExceeded",
	12: "unavailableCriticalExtension", 13: "confidentialityRequired", 14: "saslBindInProgress",
	16: "noSuchAttribute", 17: "undefinedAttributeType", 18: "inappropriateMatching",
	19: "constraintViolation", 20: "attributeOrValueExists", 21: "invalidAttributeSyntax",
	32: "noSuchObject", 33: "aliasProblem", 34: "invalidDNSyntax", 36: "aliasDereferencingProblem",
	48: "inappropriateAuthentication", 49: "invalidCredentials", 50: "insufficientAccessRights",
	51: "busy", 52: "unavailable", 53: "unwillingToPerform", 54: "loopDetect",
	64: "namingViolation", 65: "objectClassViolation", 66: "notAllowedOnNonLeaf",
	67: "notAllowedOnRDN", 68: "entryAlreadyExists", 69: "objectClassModsProhibited",
	71: "affectsMultipleDSAs", 80: "other",
}

// certificate describes the leaf and verifies the chain for host.
func certificate(chain []*x509.Certificate, host string, roots *x509.CertPool, now time.Time) *Certificate {
	if len(chain) == 0 {
		return nil
	}
	leaf := chain[0]
	c := &Certificate{
		Subject:    leaf.Subject.String(),
		Issuer:     leaf.Issuer.String(),
		NotBefore:  leaf.NotBefore.UTC(),
		NotAfter:   leaf.NotAfter.UTC(),
		DNSNames:   leaf.DNSNames,
		SelfSigned: leaf.CheckSignatureFrom(leaf) == nil,
		Expired:    now.After(leaf.NotAfter),
	}
	inter := x509.NewCertPool()
	for _, ic := range chain[1:] {
		inter.AddCert(ic)
	}
	_, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter, CurrentTime: now})
	c.Verified = err == nil
	if err != nil {
		c.VerifyError = err.Error()
	}
	return c
}

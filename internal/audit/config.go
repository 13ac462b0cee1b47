package audit

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Config is what policy files say about the settings table: the values a
// security template, a .reg export or an smb.conf sets, each with the file
// and line it came from.
type Config struct {
	Files []string `json:"files"`
	// Kinds lists the file kinds read: template, reg, smb.conf.
	Kinds []string `json:"kinds"`
	// Values maps a setting name (see Settings) or an auxiliary key
	// ("server role", "server max protocol") to what the files set.
	Values map[string]Configured `json:"values"`
	// Shares are the smb.conf shares with their effective guest ok.
	Shares []ConfShare `json:"shares,omitempty"`
	// Warnings are lines that were understood but not used, or odd.
	Warnings []string `json:"warnings,omitempty"`
}

// Configured is one value and where it was set.
type Configured struct {
	Value  string `json:"value"`
	Source string `json:"source"` // file:line
	Line   string `json:"line"`   // the line as written
}

// ConfShare is one smb.conf share.
type ConfShare struct {
	Name    string `json:"name"`
	GuestOK bool   `json:"guest_ok"`
	Source  string `json:"source"`
}

// Kinds of policy file.
const (
	KindTemplate = "template"
	KindReg      = "reg"
	KindSmbConf  = "smb.conf"
)

// ErrUnknownFormat is returned for a file that is none of the three kinds.
var ErrUnknownFormat = errors.New("not a security template (secedit INF), .reg export or smb.conf")

// MaxPolicyFile caps what ReadConfig reads of one file: a security
// template, a policy .reg export or an smb.conf is kilobytes; a file larger
// than 8 MiB is not one, and is refused before it is held in memory.
const MaxPolicyFile = 8 << 20

// ReadConfig reads and merges policy files; later files override earlier
// ones value by value. Sources name each file by the path as given, so
// that two files called smb.conf are told apart.
func ReadConfig(paths ...string) (*Config, error) {
	cfg := &Config{Values: map[string]Configured{}}
	for _, p := range paths {
		data, err := readCapped(p, MaxPolicyFile)
		if err != nil {
			return nil, err
		}
		if err := cfg.Add(p, data); err != nil {
			return nil, fmt.Errorf("policy file %s: %w", p, err)
		}
	}
	return cfg, nil
}

// readCapped reads at most limit bytes of path, and fails on a longer file
// (or stream: a FIFO or /dev/zero is read only up to the cap).
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("policy file %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("policy file %s: larger than %d MiB, more than any policy file needs", path, limit>>20)
	}
	return data, nil
}

// ParseConfig parses one file's bytes; name labels the sources.
func ParseConfig(name string, data []byte) (*Config, error) {
	cfg := &Config{Values: map[string]Configured{}}
	if err := cfg.Add(name, data); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Add parses one more file into cfg.
func (cfg *Config) Add(name string, data []byte) error {
	text, err := decodeText(data)
	if err != nil {
		return err
	}
	kind := detectKind(text)
	switch kind {
	case KindTemplate:
		cfg.parseTemplate(name, text)
	case KindReg:
		if err := cfg.parseReg(name, text); err != nil {
			return err
		}
	case KindSmbConf:
		if err := cfg.parseSmbConf(name, text); err != nil {
			return err
		}
	case kindEmpty:
		// Only Samba runs on an empty configuration (every parameter at its
		// smb.conf(5) default); a template or .reg export has a header.
		kind = KindSmbConf
		cfg.Warnings = append(cfg.Warnings, name+": empty: read as an smb.conf that sets nothing (Samba's defaults)")
	default:
		return ErrUnknownFormat
	}
	cfg.Files = append(cfg.Files, name)
	if !contains(cfg.Kinds, kind) {
		cfg.Kinds = append(cfg.Kinds, kind)
	}
	return nil
}

// Platform says which rows the config speaks for: "samba" when an smb.conf
// was read, else "windows".
func (cfg *Config) Platform() string {
	if contains(cfg.Kinds, KindSmbConf) {
		return "samba"
	}
	return "windows"
}

func (cfg *Config) set(key, value, name string, line int, raw string) {
	cfg.Values[key] = Configured{Value: value, Source: fmt.Sprintf("%s:%d", name, line), Line: strings.TrimSpace(raw)}
}

// decodeText turns the bytes into a string: UTF-16LE/BE with a BOM (as
// secedit and regedit write), UTF-16LE without one, or UTF-8.
func decodeText(b []byte) (string, error) {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return utf16String(b[2:], false)
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return utf16String(b[2:], true)
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return string(b[3:]), nil
	case len(b) >= 4 && b[0] != 0 && b[1] == 0 && b[2] != 0 && b[3] == 0:
		return utf16String(b, false)
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return "", fmt.Errorf("binary file (NUL bytes, no UTF-16 BOM)")
	}
	return string(b), nil
}

func utf16String(b []byte, bigEndian bool) (string, error) {
	if len(b)%2 != 0 {
		b = b[:len(b)-1] // a stray final byte carries no character
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
	}
	return string(utf16.Decode(u)), nil
}

// kindEmpty is a file with nothing but blank lines and comments.
const kindEmpty = "empty"

func detectKind(text string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == ';' || l[0] == '#' {
			continue
		}
		ll := strings.ToLower(l)
		switch {
		case strings.HasPrefix(ll, "windows registry editor"), ll == "regedit4":
			return KindReg
		case ll == "[unicode]", ll == "[version]", ll == "[system access]", ll == "[registry values]", ll == "[group membership]":
			return KindTemplate
		case strings.HasPrefix(ll, "["):
			return KindSmbConf
		case strings.Contains(ll, "="):
			return KindSmbConf // parameters before any section are [global]
		}
		return ""
	}
	if sc.Err() != nil {
		return ""
	}
	return kindEmpty
}

// regSettings maps a lower-cased registry path (below HKLM) to a setting.
var regSettings = map[string]string{
	`system\currentcontrolset\control\lsa\restrictanonymous`:                             RestrictAnonymous,
	`system\currentcontrolset\control\lsa\restrictanonymoussam`:                          RestrictAnonymousSAM,
	`system\currentcontrolset\control\lsa\everyoneincludesanonymous`:                     EveryoneIncludesAnonymous,
	`system\currentcontrolset\control\lsa\restrictremotesam`:                             RestrictRemoteSAM,
	`system\currentcontrolset\services\lanmanserver\parameters\nullsessionpipes`:         NullSessionPipes,
	`system\currentcontrolset\services\lanmanserver\parameters\nullsessionshares`:        NullSessionShares,
	`system\currentcontrolset\services\lanmanserver\parameters\restrictnullsessaccess`:   RestrictNullSessAccess,
	`system\currentcontrolset\services\lanmanserver\parameters\requiresecuritysignature`: RequireSecuritySignature,
	`system\currentcontrolset\services\lanmanserver\parameters\smb1`:                     SMB1,
}

// parseTemplate reads a security template / secedit /export INF.
func (cfg *Config) parseTemplate(name, text string) {
	section := ""
	for i, raw := range strings.Split(text, "\n") {
		l := strings.TrimSpace(strings.TrimRight(raw, "\r"))
		if l == "" || l[0] == ';' {
			continue
		}
		if l[0] == '[' && strings.HasSuffix(l, "]") {
			section = strings.ToLower(l[1 : len(l)-1])
			continue
		}
		key, val, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch section {
		case "system access":
			switch strings.ToLower(key) {
			case "lsaanonymousnamelookup":
				cfg.set(LSAAnonymousNameLookup, val, name, i+1, raw)
			case "enableguestaccount":
				cfg.set(EnableGuestAccount, val, name, i+1, raw)
			}
		case "registry values":
			k := strings.ToLower(key)
			k = strings.TrimPrefix(k, `machine\`)
			setting, known := regSettings[k]
			if !known {
				continue
			}
			typ, data, _ := strings.Cut(val, ",")
			switch strings.TrimSpace(typ) {
			case "7": // REG_MULTI_SZ: comma-separated, possibly empty
				cfg.set(setting, normList(strings.Split(data, ",")), name, i+1, raw)
			case "1", "2": // REG_SZ / REG_EXPAND_SZ, maybe quoted
				cfg.set(setting, strings.Trim(strings.TrimSpace(data), `"`), name, i+1, raw)
			case "4":
				cfg.set(setting, strings.TrimSpace(data), name, i+1, raw)
			default:
				cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("%s:%d: %s has unexpected type %q", name, i+1, setting, typ))
			}
		case "group membership":
			// *S-1-5-32-554__Members = *S-1-5-11,*S-1-5-7
			if strings.EqualFold(strings.TrimPrefix(key, "*"), "S-1-5-32-554__Members") {
				cfg.set(PreWindows2000, normList(strings.Split(val, ",")), name, i+1, raw)
			}
		}
	}
}

// normList trims, drops empties and leading '*' (template SID markers) and
// joins with ", " in the file's order.
func normList(items []string) string {
	var out []string
	for _, it := range items {
		it = strings.TrimSpace(strings.Trim(strings.TrimSpace(it), `"`))
		if it == "" {
			continue
		}
		out = append(out, it)
	}
	return strings.Join(out, ", ")
}

// parseReg reads a regedit export (version 5.00, UTF-16LE, or REGEDIT4).
func (cfg *Config) parseReg(name, text string) error {
	lines := strings.Split(text, "\n")
	ansi := false
	key := ""
	for i := 0; i < len(lines); i++ {
		start := i + 1
		l := strings.TrimSpace(strings.TrimRight(lines[i], "\r"))
		// A value may continue over lines ending in '\'.
		for strings.HasSuffix(l, `\`) && i+1 < len(lines) && !strings.HasPrefix(l, "[") {
			i++
			l = strings.TrimSuffix(l, `\`) + strings.TrimSpace(strings.TrimRight(lines[i], "\r"))
		}
		switch {
		case l == "" || l[0] == ';':
			continue
		case strings.EqualFold(l, "REGEDIT4"):
			ansi = true
			continue
		case l[0] == '[' && strings.HasSuffix(l, "]"):
			key = strings.ToLower(l[1 : len(l)-1])
			for _, p := range []string{`hkey_local_machine\`, `hklm\`} {
				key = strings.TrimPrefix(key, p)
			}
			continue
		case l[0] != '"':
			continue
		}
		vname, data, ok := cutQuoted(l)
		if !ok {
			cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("%s:%d: unreadable value line", name, start))
			continue
		}
		setting, known := regSettings[key+`\`+strings.ToLower(vname)]
		if !known {
			continue
		}
		ld := strings.ToLower(data)
		switch {
		case data == "-":
			delete(cfg.Values, setting) // value deleted: back to the default
		case strings.HasPrefix(ld, "dword:"):
			v, err := strconv.ParseUint(strings.TrimSpace(data[6:]), 16, 32)
			if err != nil {
				return fmt.Errorf("line %d: bad dword %q", start, data)
			}
			cfg.set(setting, strconv.FormatUint(v, 10), name, start, lines[start-1])
		case strings.HasPrefix(ld, "hex(7):"):
			b, err := hexBytes(data[7:])
			if err != nil {
				return fmt.Errorf("line %d: %w", start, err)
			}
			var s string
			if ansi {
				s = string(b)
			} else if s, err = utf16String(b, false); err != nil {
				return err
			}
			cfg.set(setting, normList(strings.Split(s, "\x00")), name, start, lines[start-1])
		case strings.HasPrefix(data, `"`):
			s := strings.TrimSuffix(strings.TrimPrefix(data, `"`), `"`)
			s = strings.ReplaceAll(strings.ReplaceAll(s, `\\`, `\`), `\"`, `"`)
			cfg.set(setting, s, name, start, lines[start-1])
		default:
			cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("%s:%d: %s has an unexpected type", name, start, setting))
		}
	}
	return nil
}

// cutQuoted splits `"Name"=data`, honouring \" and \\ in the name.
func cutQuoted(l string) (name, data string, ok bool) {
	var b strings.Builder
	for i := 1; i < len(l); i++ {
		switch c := l[i]; {
		case c == '\\' && i+1 < len(l):
			i++
			b.WriteByte(l[i])
		case c == '"':
			rest := strings.TrimSpace(l[i+1:])
			if !strings.HasPrefix(rest, "=") {
				return "", "", false
			}
			return b.String(), strings.TrimSpace(rest[1:]), true
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}

func hexBytes(s string) ([]byte, error) {
	s = strings.NewReplacer(",", "", " ", "", "\t", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("bad hex data: %w", err)
	}
	return b, nil
}

// sambaSynonyms maps smb.conf parameter synonyms to the names used here.
var sambaSynonyms = map[string]string{
	"min protocol": SambaServerMinProtocol,
	"max protocol": "server max protocol",
	"protocol":     "server max protocol",
	"public":       SambaGuestOK,
	"guest ok":     SambaGuestOK,
}

// parseSmbConf reads an smb.conf: [global] parameters and each share's
// guest ok (a [global] guest ok is every share's default). Text in which
// no line is an smb.conf(5) parameter is not an smb.conf, however many
// "key = value" lines it has: predicting Samba's defaults from it would be
// a confident answer to a question nobody asked.
func (cfg *Config) parseSmbConf(name, text string) error {
	section := "global"
	type share struct {
		name    string
		guest   *bool
		line    int
		srcLine int
	}
	var shares []*share
	var globalGuest *bool
	var cur *share
	known := 0
	firstUnknown := ""
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		l := strings.TrimSpace(strings.TrimRight(lines[i], "\r"))
		for strings.HasSuffix(l, `\`) && i+1 < len(lines) {
			i++
			l = strings.TrimSuffix(l, `\`) + " " + strings.TrimSpace(strings.TrimRight(lines[i], "\r"))
		}
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		if l[0] == '[' {
			end := strings.IndexByte(l, ']')
			if end < 0 {
				continue
			}
			section = strings.ToLower(strings.TrimSpace(l[1:end]))
			cur = nil
			if section != "global" {
				cur = &share{name: strings.TrimSpace(l[1:end]), line: start}
				shares = append(shares, cur)
			}
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			if firstUnknown == "" {
				firstUnknown = fmt.Sprintf("line %d: %.40q", start, l)
			}
			continue
		}
		k = strings.Join(strings.Fields(strings.ToLower(k)), " ")
		v = strings.TrimSpace(v)
		if s, ok := sambaSynonyms[k]; ok {
			k = s
		}
		if smbConfParams[k] || sambaKnown[k] {
			known++
		} else if firstUnknown == "" {
			firstUnknown = fmt.Sprintf("line %d: %.40q", start, k)
		}
		if k == SambaGuestOK {
			b, ok := parseBool(v)
			if !ok {
				cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("%s:%d: guest ok = %q is not a boolean", name, start, v))
				continue
			}
			if cur == nil {
				globalGuest = &b
			} else {
				cur.guest = &b
				cur.srcLine = start
			}
			continue
		}
		if cur != nil {
			continue
		}
		switch k {
		case SambaRestrictAnonymous:
			cfg.set(k, v, name, start, lines[start-1])
		case SambaMapToGuest:
			cfg.set(k, canonMapToGuest(v), name, start, lines[start-1])
		case SambaServerMinProtocol, "server max protocol":
			cfg.set(k, strings.ToUpper(v), name, start, lines[start-1])
		case SambaServerSigning, "server role", "security":
			cfg.set(k, strings.ToLower(v), name, start, lines[start-1])
		}
	}
	for _, s := range shares {
		// [homes] and [printers] are templates, not shares a stranger can name.
		if (strings.EqualFold(s.name, "homes") || strings.EqualFold(s.name, "printers")) && s.guest == nil {
			continue
		}
		cs := ConfShare{Name: s.name, Source: fmt.Sprintf("%s:%d", name, s.line)}
		switch {
		case s.guest != nil:
			cs.GuestOK = *s.guest
			cs.Source = fmt.Sprintf("%s:%d", name, s.srcLine)
		case globalGuest != nil:
			cs.GuestOK = *globalGuest
		}
		cfg.Shares = append(cfg.Shares, cs)
	}
	if known == 0 && firstUnknown != "" {
		return fmt.Errorf("not an smb.conf: no smb.conf(5) parameter recognised (first: %s)", firstUnknown)
	}
	if len(shares) > 0 || globalGuest != nil {
		var open []string
		c := Configured{Value: "no", Source: name, Line: "no share sets guest ok = yes"}
		for _, s := range cfg.Shares {
			if s.GuestOK {
				if open == nil {
					// The evidence is the first open share's own line.
					c.Source, c.Line = s.Source, "["+s.Name+"] guest ok = yes"
				}
				open = append(open, s.Name)
			}
		}
		if len(open) > 0 {
			c.Value = "yes on " + strings.Join(open, ", ")
			if len(open) > 1 {
				c.Line += fmt.Sprintf(" (and %d more shares)", len(open)-1)
			}
		}
		cfg.Values[SambaGuestOK] = c
	}
	return nil
}

func canonMapToGuest(v string) string {
	switch strings.Join(strings.Fields(strings.ToLower(v)), " ") {
	case "never":
		return "Never"
	case "bad user":
		return "Bad User"
	case "bad password":
		return "Bad Password"
	case "bad uid":
		return "Bad Uid"
	}
	return v
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "yes", "true", "1", "on":
		return true, true
	case "no", "false", "0", "off":
		return false, true
	}
	return false, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

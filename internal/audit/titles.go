package audit

import "strings"

var exposureTitles = map[string]string{
	ExpNullSession: "anonymous logon (null session)",
	ExpIPC:         "IPC$ for anonymous callers",
	ExpUsers:       "user list (SAMR)",
	ExpShares:      "share list (SRVSVC)",
	ExpPolicy:      "password/lockout policy (SAMR)",
	ExpSIDLookup:   "SID/name translation (LSA)",
	ExpGuest:       "unknown user → guest",
	ExpSMB1:        "SMB1 accepted",
	ExpSigning:     "signing required",
}

// ExposureTitle is an exposure's name as the text reports print it.
func ExposureTitle(name string) string {
	if t, ok := exposureTitles[name]; ok {
		return t
	}
	if s, ok := strings.CutPrefix(name, "share:"); ok {
		return "share " + s + " for anonymous callers"
	}
	return name
}

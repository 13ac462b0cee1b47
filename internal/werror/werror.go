// Package werror names the Win32 error codes (WERROR, NET_API_STATUS) that
// SRVSVC, WKSSVC and friends return. Names follow [MS-ERREF] 2.2; an
// unknown code prints as its hex value.
package werror

import "fmt"

// Code is a WERROR / NET_API_STATUS value as sent by the server.
type Code uint32

// Codes anonymous MS-RPC clients meet.
const (
	Success             Code = 0
	InvalidFunction     Code = 1
	FileNotFound        Code = 2
	AccessDenied        Code = 5
	InvalidHandle       Code = 6
	NotEnoughMemory     Code = 8
	NotSupported        Code = 50
	BadNetPath          Code = 53
	NetworkBusy         Code = 54
	BadNetResp          Code = 58
	UnexpectedNetError  Code = 59
	BadNetName          Code = 67
	InvalidParameter    Code = 87
	CallNotImplemented  Code = 120
	InsufficientBuffer  Code = 122
	InvalidName         Code = 123
	InvalidLevel        Code = 124
	MoreData            Code = 234
	NoMoreItems         Code = 259
	NotFound            Code = 1168
	InvalidDomainName   Code = 1212
	NoSuchDomain        Code = 1355
	NoLogonServers      Code = 1311
	RPCServerUnavail    Code = 1722
	NERRBufTooSmall     Code = 2123
	NERRUserNotFound    Code = 2221
	NERRNetNameNotFound Code = 2310
	NERRDCNotFound      Code = 2453
	NERRServerNotStart  Code = 2114
	NERRWkstaNotStarted Code = 2138
)

var names = map[Code]string{
	Success:             "ERROR_SUCCESS",
	InvalidFunction:     "ERROR_INVALID_FUNCTION",
	FileNotFound:        "ERROR_FILE_NOT_FOUND",
	AccessDenied:        "ERROR_ACCESS_DENIED",
	InvalidHandle:       "ERROR_INVALID_HANDLE",
	NotEnoughMemory:     "ERROR_NOT_ENOUGH_MEMORY",
	NotSupported:        "ERROR_NOT_SUPPORTED",
	BadNetPath:          "ERROR_BAD_NETPATH",
	NetworkBusy:         "ERROR_NETWORK_BUSY",
	BadNetResp:          "ERROR_BAD_NET_RESP",
	UnexpectedNetError:  "ERROR_UNEXP_NET_ERR",
	BadNetName:          "ERROR_BAD_NET_NAME",
	InvalidParameter:    "ERROR_INVALID_PARAMETER",
	CallNotImplemented:  "ERROR_CALL_NOT_IMPLEMENTED",
	InsufficientBuffer:  "ERROR_INSUFFICIENT_BUFFER",
	InvalidName:         "ERROR_INVALID_NAME",
	InvalidLevel:        "ERROR_INVALID_LEVEL",
	MoreData:            "ERROR_MORE_DATA",
	NoMoreItems:         "ERROR_NO_MORE_ITEMS",
	NotFound:            "ERROR_NOT_FOUND",
	InvalidDomainName:   "ERROR_INVALID_DOMAINNAME",
	NoSuchDomain:        "ERROR_NO_SUCH_DOMAIN",
	NoLogonServers:      "ERROR_NO_LOGON_SERVERS",
	RPCServerUnavail:    "RPC_S_SERVER_UNAVAILABLE",
	NERRBufTooSmall:     "NERR_BufTooSmall",
	NERRUserNotFound:    "NERR_UserNotFound",
	NERRNetNameNotFound: "NERR_NetNameNotFound",
	NERRDCNotFound:      "NERR_DCNotFound",
	NERRServerNotStart:  "NERR_ServerNotStarted",
	NERRWkstaNotStarted: "NERR_WkstaNotStarted",
}

// String returns the MS-ERREF name, or the code in hex.
func (c Code) String() string {
	if n, ok := names[c]; ok {
		return n
	}
	return fmt.Sprintf("0x%08X", uint32(c))
}

// Error makes a Code usable as an error: errors.As(err, &code) recovers it.
func (c Code) Error() string { return c.String() }

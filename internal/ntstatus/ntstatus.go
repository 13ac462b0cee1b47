// Package ntstatus names the NTSTATUS codes nullsweep meets on the wire.
// Names follow [MS-ERREF] 2.3.1; an unknown code prints as its hex value.
package ntstatus

import "fmt"

// Status is an NTSTATUS value as sent by the server.
type Status uint32

// Codes that SMB and MS-RPC servers return to anonymous clients.
const (
	Success                  Status = 0x00000000
	Pending                  Status = 0x00000103
	MoreEntries              Status = 0x00000105
	SomeNotMapped            Status = 0x00000107
	BufferOverflow           Status = 0x80000005
	NoMoreFiles              Status = 0x80000006
	NoMoreEntries            Status = 0x8000001A
	Unsuccessful             Status = 0xC0000001
	NotImplemented           Status = 0xC0000002
	InvalidInfoClass         Status = 0xC0000003
	InvalidHandle            Status = 0xC0000008
	InvalidParameter         Status = 0xC000000D
	NoSuchFile               Status = 0xC000000F
	InvalidDeviceRequest     Status = 0xC0000010
	EndOfFile                Status = 0xC0000011
	MoreProcessingRequired   Status = 0xC0000016
	AccessDenied             Status = 0xC0000022
	BadImpersonationLevel    Status = 0xC00000A5
	BufferTooSmall           Status = 0xC0000023
	ObjectNameInvalid        Status = 0xC0000033
	ObjectNameNotFound       Status = 0xC0000034
	ObjectNameCollision      Status = 0xC0000035
	ObjectPathNotFound       Status = 0xC000003A
	NoneMapped               Status = 0xC0000073
	NoSuchUser               Status = 0xC0000064
	WrongPassword            Status = 0xC000006A
	LogonFailure             Status = 0xC000006D
	AccountRestriction       Status = 0xC000006E
	PasswordExpired          Status = 0xC0000071
	AccountDisabled          Status = 0xC0000072
	InsufficientResources    Status = 0xC000009A
	PipeNotAvailable         Status = 0xC00000AC
	InvalidPipeState         Status = 0xC00000AD
	PipeBusy                 Status = 0xC00000AE
	IllegalFunction          Status = 0xC00000AF
	PipeDisconnected         Status = 0xC00000B0
	PipeClosing              Status = 0xC00000B1
	NotSupported             Status = 0xC00000BB
	NetworkNameDeleted       Status = 0xC00000C9
	NetworkAccessDenied      Status = 0xC00000CA
	BadNetworkName           Status = 0xC00000CC
	RequestNotAccepted       Status = 0xC00000D0
	NoSuchDomain             Status = 0xC00000DF
	InternalError            Status = 0xC00000E5
	InvalidNetworkResponse   Status = 0xC00000C3
	CannotDelete             Status = 0xC0000121
	FileClosed               Status = 0xC0000128
	NoSuchAlias              Status = 0xC0000151
	LogonTypeNotGranted      Status = 0xC000015B
	NoTrustSAMAccount        Status = 0xC000018B
	ConnectionDisconnected   Status = 0xC000020C
	ConnectionReset          Status = 0xC000020D
	ConnectionRefused        Status = 0xC0000236
	NetworkUnreachable       Status = 0xC000023C
	UserSessionDeleted       Status = 0xC0000203
	RPCNTCallFailed          Status = 0xC002001B
	RPCProtocolError         Status = 0xC002001D
	RPCBadStubData           Status = 0xC003000C
	RPCNTProcnumOutOfRange   Status = 0xC002002E
	RequestAborted           Status = 0xC0000240
	InvalidLogonHours        Status = 0xC000006F
	InvalidWorkstation       Status = 0xC0000070
	AccountLockedOut         Status = 0xC0000234
	SMBBadUID                Status = 0x005B0002
	NotFound                 Status = 0xC0000225
	IOTimeout                Status = 0xC00000B5
	InvalidSID               Status = 0xC0000078
	NoSuchGroup              Status = 0xC0000066
	SignatureRequired        Status = 0xC000A200 // not in MS-ERREF under this name; see names
	NetworkSessionExpired    Status = 0xC000035C
	SMB1BadCommand           Status = 0x00160002
	SMBBadTID                Status = 0x00050002
	DFSUnavailable           Status = 0xC000026D
	InvalidServerState       Status = 0xC00000DC
	NoLogonServers           Status = 0xC000005E
	DomainTrustInconsistent  Status = 0xC000019B
	TrustedDomainFailure     Status = 0xC000018C
	UserExists               Status = 0xC0000063
	SpecialAccount           Status = 0xC0000124
	InvalidDomainRole        Status = 0xC00000DE
	NotAllAssigned           Status = 0x00000106
	ServerDisabled           Status = 0xC0000080
	HandleNotClosable        Status = 0xC0000235
	NetworkBusy              Status = 0xC00000BF
	TooManySessions          Status = 0xC00000CE
	NotLoggedOn              Status = 0x005A0002
	UnexpectedNetworkError   Status = 0xC00000C4
	SharingViolation         Status = 0xC0000043
	FileIsADirectory         Status = 0xC00000BA
	NotADirectory            Status = 0xC0000103
	DeletePending            Status = 0xC0000056
	ObjectTypeMismatch       Status = 0xC0000024
	InvalidLevel             Status = 0xC0000148
	TimeDifferenceAtDC       Status = 0xC0000133
	PasswordMustChange       Status = 0xC0000224
	UserSessionDeletedRemote Status = 0xC0000204
)

var names = map[Status]string{
	Success:                  "STATUS_SUCCESS",
	Pending:                  "STATUS_PENDING",
	MoreEntries:              "STATUS_MORE_ENTRIES",
	SomeNotMapped:            "STATUS_SOME_NOT_MAPPED",
	NotAllAssigned:           "STATUS_NOT_ALL_ASSIGNED",
	BufferOverflow:           "STATUS_BUFFER_OVERFLOW",
	NoMoreFiles:              "STATUS_NO_MORE_FILES",
	NoMoreEntries:            "STATUS_NO_MORE_ENTRIES",
	Unsuccessful:             "STATUS_UNSUCCESSFUL",
	NotImplemented:           "STATUS_NOT_IMPLEMENTED",
	InvalidInfoClass:         "STATUS_INVALID_INFO_CLASS",
	InvalidHandle:            "STATUS_INVALID_HANDLE",
	InvalidParameter:         "STATUS_INVALID_PARAMETER",
	NoSuchFile:               "STATUS_NO_SUCH_FILE",
	InvalidDeviceRequest:     "STATUS_INVALID_DEVICE_REQUEST",
	EndOfFile:                "STATUS_END_OF_FILE",
	MoreProcessingRequired:   "STATUS_MORE_PROCESSING_REQUIRED",
	AccessDenied:             "STATUS_ACCESS_DENIED",
	BadImpersonationLevel:    "STATUS_BAD_IMPERSONATION_LEVEL",
	BufferTooSmall:           "STATUS_BUFFER_TOO_SMALL",
	ObjectTypeMismatch:       "STATUS_OBJECT_TYPE_MISMATCH",
	ObjectNameInvalid:        "STATUS_OBJECT_NAME_INVALID",
	ObjectNameNotFound:       "STATUS_OBJECT_NAME_NOT_FOUND",
	ObjectNameCollision:      "STATUS_OBJECT_NAME_COLLISION",
	ObjectPathNotFound:       "STATUS_OBJECT_PATH_NOT_FOUND",
	SharingViolation:         "STATUS_SHARING_VIOLATION",
	DeletePending:            "STATUS_DELETE_PENDING",
	NoSuchUser:               "STATUS_NO_SUCH_USER",
	NoSuchGroup:              "STATUS_NO_SUCH_GROUP",
	UserExists:               "STATUS_USER_EXISTS",
	WrongPassword:            "STATUS_WRONG_PASSWORD",
	LogonFailure:             "STATUS_LOGON_FAILURE",
	AccountRestriction:       "STATUS_ACCOUNT_RESTRICTION",
	InvalidLogonHours:        "STATUS_INVALID_LOGON_HOURS",
	InvalidWorkstation:       "STATUS_INVALID_WORKSTATION",
	PasswordExpired:          "STATUS_PASSWORD_EXPIRED",
	AccountDisabled:          "STATUS_ACCOUNT_DISABLED",
	NoneMapped:               "STATUS_NONE_MAPPED",
	InvalidSID:               "STATUS_INVALID_SID",
	NoLogonServers:           "STATUS_NO_LOGON_SERVERS",
	ServerDisabled:           "STATUS_SERVER_DISABLED",
	InsufficientResources:    "STATUS_INSUFFICIENT_RESOURCES",
	PipeNotAvailable:         "STATUS_PIPE_NOT_AVAILABLE",
	InvalidPipeState:         "STATUS_INVALID_PIPE_STATE",
	PipeBusy:                 "STATUS_PIPE_BUSY",
	IllegalFunction:          "STATUS_ILLEGAL_FUNCTION",
	PipeDisconnected:         "STATUS_PIPE_DISCONNECTED",
	PipeClosing:              "STATUS_PIPE_CLOSING",
	IOTimeout:                "STATUS_IO_TIMEOUT",
	FileIsADirectory:         "STATUS_FILE_IS_A_DIRECTORY",
	NotSupported:             "STATUS_NOT_SUPPORTED",
	NetworkBusy:              "STATUS_NETWORK_BUSY",
	InvalidNetworkResponse:   "STATUS_INVALID_NETWORK_RESPONSE",
	UnexpectedNetworkError:   "STATUS_UNEXPECTED_NETWORK_ERROR",
	NetworkNameDeleted:       "STATUS_NETWORK_NAME_DELETED",
	NetworkAccessDenied:      "STATUS_NETWORK_ACCESS_DENIED",
	BadNetworkName:           "STATUS_BAD_NETWORK_NAME",
	TooManySessions:          "STATUS_TOO_MANY_SESSIONS",
	RequestNotAccepted:       "STATUS_REQUEST_NOT_ACCEPTED",
	InvalidServerState:       "STATUS_INVALID_SERVER_STATE",
	InvalidDomainRole:        "STATUS_INVALID_DOMAIN_ROLE",
	NoSuchDomain:             "STATUS_NO_SUCH_DOMAIN",
	InternalError:            "STATUS_INTERNAL_ERROR",
	NotADirectory:            "STATUS_NOT_A_DIRECTORY",
	CannotDelete:             "STATUS_CANNOT_DELETE",
	SpecialAccount:           "STATUS_SPECIAL_ACCOUNT",
	FileClosed:               "STATUS_FILE_CLOSED",
	TimeDifferenceAtDC:       "STATUS_TIME_DIFFERENCE_AT_DC",
	InvalidLevel:             "STATUS_INVALID_LEVEL",
	NoSuchAlias:              "STATUS_NO_SUCH_ALIAS",
	LogonTypeNotGranted:      "STATUS_LOGON_TYPE_NOT_GRANTED",
	NoTrustSAMAccount:        "STATUS_NO_TRUST_SAM_ACCOUNT",
	TrustedDomainFailure:     "STATUS_TRUSTED_DOMAIN_FAILURE",
	DomainTrustInconsistent:  "STATUS_DOMAIN_TRUST_INCONSISTENT",
	UserSessionDeleted:       "STATUS_USER_SESSION_DELETED",
	UserSessionDeletedRemote: "STATUS_REMOTE_SESSION_LIMIT",
	ConnectionDisconnected:   "STATUS_CONNECTION_DISCONNECTED",
	ConnectionReset:          "STATUS_CONNECTION_RESET",
	PasswordMustChange:       "STATUS_PASSWORD_MUST_CHANGE",
	NotFound:                 "STATUS_NOT_FOUND",
	AccountLockedOut:         "STATUS_ACCOUNT_LOCKED_OUT",
	HandleNotClosable:        "STATUS_HANDLE_NOT_CLOSABLE",
	ConnectionRefused:        "STATUS_CONNECTION_REFUSED",
	NetworkUnreachable:       "STATUS_NETWORK_UNREACHABLE",
	RequestAborted:           "STATUS_REQUEST_ABORTED",
	DFSUnavailable:           "STATUS_DFS_UNAVAILABLE",
	NetworkSessionExpired:    "STATUS_NETWORK_SESSION_EXPIRED",
	RPCNTCallFailed:          "RPC_NT_CALL_FAILED",
	RPCProtocolError:         "RPC_NT_PROTOCOL_ERROR",
	RPCNTProcnumOutOfRange:   "RPC_NT_PROCNUM_OUT_OF_RANGE",
	RPCBadStubData:           "RPC_NT_BAD_STUB_DATA",
	SignatureRequired:        "STATUS_SMB_SIGNATURE_REQUIRED",
	// SMB1 DOS-class errors packed as (code<<16 | class), as SMB1 servers
	// without NT status support send them ([MS-CIFS] 2.2.2.4).
	SMBBadUID:      "ERRSRV/ERRbaduid",
	SMBBadTID:      "ERRSRV/ERRinvnid",
	NotLoggedOn:    "ERRSRV/ERRnotlogon",
	SMB1BadCommand: "ERRSRV/ERRbadcmd",
}

// String returns the MS-ERREF name, or the code in hex when the table lacks it.
func (s Status) String() string {
	if n, ok := names[s]; ok {
		return n
	}
	return fmt.Sprintf("0x%08X", uint32(s))
}

// Error makes a Status usable as an error: errors.As(err, &st) recovers it.
func (s Status) Error() string { return s.String() }

// IsError reports whether the severity bits say error (0xC...).
func (s Status) IsError() bool { return uint32(s)>>30 == 3 }

// IsSuccess reports success and informational codes (severity 0 or 1).
func (s Status) IsSuccess() bool { return uint32(s)>>30 <= 1 }

package dcerpc

// Transfer syntax and interfaces nullsweep binds to. Versions are those the
// IDLs give ([MS-LSAD] 1.9, [MS-SAMR] 1.9, [MS-SRVS] 1.9, [MS-WKST] 1.9,
// [MS-NRPC] 1.9, C706 appendix N for EPM).
var (
	NDR20    = SyntaxID{UUID: MustParseUUID("8a885d04-1ceb-11c9-9fe8-08002b104860"), Major: 2}
	LSARPC   = SyntaxID{UUID: MustParseUUID("12345778-1234-abcd-ef00-0123456789ab"), Major: 0}
	SAMR     = SyntaxID{UUID: MustParseUUID("12345778-1234-abcd-ef00-0123456789ac"), Major: 1}
	SRVSVC   = SyntaxID{UUID: MustParseUUID("4b324fc8-1670-01d3-1278-5a47bf6ee188"), Major: 3}
	WKSSVC   = SyntaxID{UUID: MustParseUUID("6bffd098-a112-3610-9833-46c3f87e345a"), Major: 1}
	NETLOGON = SyntaxID{UUID: MustParseUUID("12345678-1234-abcd-ef00-01234567cffb"), Major: 1}
	EPM      = SyntaxID{UUID: MustParseUUID("e1af8308-5d1f-11c9-91a4-08002b14a0fa"), Major: 3}
)

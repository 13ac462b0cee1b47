package epm

import "github.com/nullsweep/nullsweep/internal/dcerpc"

// Interface names a well-known RPC interface and the specification that
// defines it.
type Interface struct {
	Name string
	Spec string
}

// wellKnown maps interface UUIDs to names. The UUIDs are those of each
// specification's IDL (section 1.9 or appendix A of the [MS-*] documents).
var wellKnown = map[string]Interface{
	"e1af8308-5d1f-11c9-91a4-08002b14a0fa": {"epmapper", "C706 appendix O"},
	"afa8bd80-7d8a-11c9-bef4-08002b102989": {"mgmt", "C706 appendix Q"},
	"12345778-1234-abcd-ef00-0123456789ab": {"lsarpc", "MS-LSAD"},
	"12345778-1234-abcd-ef00-0123456789ac": {"samr", "MS-SAMR"},
	"12345678-1234-abcd-ef00-01234567cffb": {"netlogon", "MS-NRPC"},
	"4b324fc8-1670-01d3-1278-5a47bf6ee188": {"srvsvc", "MS-SRVS"},
	"6bffd098-a112-3610-9833-46c3f87e345a": {"wkssvc", "MS-WKST"},
	"6bffd098-a112-3610-9833-012892020162": {"browser", "MS-BRWSA"},
	"e3514235-4b06-11d1-ab04-00c04fc2dcd2": {"drsuapi", "MS-DRSR"},
	"3919286a-b10c-11d0-9ba8-00c04fd92ef5": {"dssetup", "MS-DSSP"},
	"3dde7c30-165d-11d1-ab8f-00805f14db40": {"backupkey", "MS-BKRP"},
	"50abc2a4-574d-40b3-9d66-ee4fd5fba076": {"dnsserver", "MS-DNSP"},
	"82273fdc-e32a-18c3-3f78-827929dc23ea": {"eventlog", "MS-EVEN"},
	"f6beaff7-1e19-4fbb-9f8f-b89e2018337c": {"eventlog6", "MS-EVEN6"},
	"338cd001-2244-31f1-aaaa-900038001003": {"winreg", "MS-RRP"},
	"367abb81-9844-35f1-ad32-98f038001003": {"svcctl", "MS-SCMR"},
	"1ff70682-0a51-30e8-076d-740be8cee98b": {"atsvc", "MS-TSCH"},
	"378e52b0-c0a9-11cf-822d-00aa0051e40f": {"sasec", "MS-TSCH"},
	"86d35949-83c9-4044-b424-db363231fd0c": {"ITaskSchedulerService", "MS-TSCH"},
	"12345678-1234-abcd-ef00-0123456789ab": {"spoolss", "MS-RPRN"},
	"76f03f96-cdfd-44fc-a22c-64950a001209": {"IRemoteWinspool", "MS-PAR"},
	"c681d488-d850-11d0-8c52-00c04fd90f7e": {"efsrpc", "MS-EFSR"},
	"df1941c5-fe89-4e79-bf10-463657acf44d": {"efsrpc", "MS-EFSR"},
	"4fc742e0-4a10-11cf-8273-00aa004ae673": {"netdfs", "MS-DFSNM"},
	"894de0c0-0d55-11d3-a322-00c04fa321a1": {"InitShutdown", "MS-RSP"},
	"d95afe70-a6d5-4259-822e-2c84da1ddb0d": {"WindowsShutdown", "MS-RSP"},
	"8d9f4e40-a03d-11ce-8f69-08003e30051b": {"plugplay", "MS-PNPR"},
	"6b5bdd1e-528c-422c-af8c-a4079be4fe48": {"RemoteFW", "MS-FASP"},
	"91ae6020-9e3c-11cf-8d7c-00aa00c091be": {"ICertPassage", "MS-ICPR"},
	"f5cc5a18-4264-101a-8c59-08002b2f8426": {"nspi", "MS-NSPI"},
	"f5cc59b4-4264-101a-8c59-08002b2f8426": {"frsrpc", "MS-FRS1"},
	"897e2e5f-93f3-4376-9c9c-fd2277495c27": {"FrsTransport", "MS-FRS2"},
	"99fcfec4-5260-101b-bbcb-00aa0021347a": {"IObjectExporter", "MS-DCOM"},
	"000001a0-0000-0000-c000-000000000046": {"ISystemActivator", "MS-DCOM"},
	"4d9f4ab8-7d1c-11cf-861e-0020af6e7c57": {"IActivation", "MS-DCOM"},
	"9c54e310-a955-4885-bd31-78787147dfa6": {"unixinfo", "Samba"},
}

// InterfaceName returns the well-known name of an interface UUID.
func InterfaceName(u dcerpc.UUID) (Interface, bool) {
	i, ok := wellKnown[u.String()]
	return i, ok
}

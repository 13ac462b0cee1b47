package audit

// sambaKnown are the parameters the prediction reads (after synonyms).
var sambaKnown = map[string]bool{
	SambaRestrictAnonymous: true, SambaMapToGuest: true, SambaServerMinProtocol: true,
	"server max protocol": true, SambaServerSigning: true, "server role": true, "security": true,
	SambaGuestOK: true,
}

// smbConfParams are smb.conf(5) parameter names (lower case, single
// spaces), global and per share: enough of the manual's list that any real
// smb.conf names at least one, so that a file naming none of them can be
// told from an smb.conf. Parameters outside this list are still allowed in
// a file that has one of them.
var smbConfParams = setOf(
	// [global]: identity and roles
	"workgroup", "realm", "netbios name", "netbios aliases", "netbios scope", "server string",
	"server services", "dcerpc endpoint servers", "domain logons", "domain master", "local master",
	"preferred master", "os level", "wins support", "wins server", "wins proxy", "dns proxy",
	"name resolve order", "interfaces", "bind interfaces only", "hosts allow", "hosts deny",
	"allow hosts", "deny hosts", "smb ports", "disable netbios", "disable spoolss",
	// authentication
	"passdb backend", "encrypt passwords", "ntlm auth", "lanman auth", "client ntlmv2 auth",
	"client lanman auth", "client plaintext auth", "raw ntlmv2 auth", "usershare allow guests",
	"guest account", "restrict anonymous", "map to guest", "null passwords", "obey pam restrictions",
	"unix password sync", "passwd program", "passwd chat", "pam password change", "username map",
	"idmap config * : backend", "idmap config * : range", "idmap backend", "idmap uid", "idmap gid",
	"winbind use default domain", "winbind enum users", "winbind enum groups", "winbind separator",
	"template shell", "template homedir", "kerberos method", "dedicated keytab file",
	"server schannel", "client schannel", "allow nt4 crypto", "ntlm auth", "auth methods",
	// protocol and transport
	"server min protocol", "server max protocol", "client min protocol", "client max protocol",
	"min protocol", "max protocol", "protocol", "server signing", "client signing", "smb encrypt",
	"server smb encrypt", "client smb encrypt", "smb2 leases", "server multi channel support",
	"socket options", "deadtime", "keepalive", "max xmit", "large readwrite", "use sendfile",
	"aio read size", "aio write size", "unix extensions", "smb1 unix extensions",
	// logging and state
	"log file", "log level", "debug level", "max log size", "syslog", "syslog only", "logging",
	"lock directory", "state directory", "cache directory", "private dir", "pid directory",
	"ncalrpc dir", "binddns dir", "panic action",
	// printing
	"load printers", "printing", "printcap name", "printcap", "printable", "print ok", "printer name",
	"printer", "print command", "lpq command", "lprm command", "use client driver",
	// browsing and misc global
	"browse list", "enhanced browsing", "lm announce", "lm interval", "time server",
	"add machine script", "add user script", "delete user script", "add group script",
	"rpc_server:default", "rpc_daemon:spoolssd", "server role check:inhibit", "acl allow execute always",
	"dns forwarder", "allow dns updates", "template homedir", "unix charset", "dos charset",
	"display charset", "mangled names", "mangling method", "case sensitive", "preserve case",
	"short preserve case", "default case", "kernel oplocks", "oplocks", "level2 oplocks",
	"strict locking", "fileid:algorithm", "vfs objects", "include", "config file", "registry shares",
	"usershare path", "usershare max shares", "show add printer wizard", "max connections",
	"max open files", "max smbd processes", "server role", "security", "apply group policies",
	// shares
	"path", "directory", "comment", "browseable", "browsable", "read only", "writeable", "writable",
	"write ok", "read list", "write list", "valid users", "invalid users", "admin users", "force user",
	"force group", "guest ok", "public", "guest only", "only guest", "create mask", "create mode",
	"directory mask", "directory mode", "force create mode", "force directory mode", "inherit acls",
	"inherit permissions", "inherit owner", "hide dot files", "hide files", "veto files",
	"delete veto files", "hide unreadable", "access based share enum", "available", "root preexec",
	"preexec", "postexec", "root postexec", "msdfs root", "msdfs proxy", "follow symlinks",
	"wide links", "store dos attributes", "map archive", "map hidden", "map system", "map readonly",
	"nt acl support", "ea support", "strict sync", "sync always", "locking", "blocking locks",
	"csc policy", "dfree command", "copy", "fstype", "volume", "case sensitive", "hosts equiv",
)

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// dcUsers adds the lab accounts to a freshly provisioned directory, in one
// python process (each samba-tool run would reload the schema, ~1 s each).
// Order fixes the RIDs; svc_backup's description leaks a password on purpose.
const dcUsers = `
import sys
from samba.param import LoadParm
from samba.samdb import SamDB
from samba.auth import system_session
conf, pw = sys.argv[1], sys.argv[2]
lp = LoadParm()
lp.load(conf)
db = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
db.newuser("alice", pw, givenname="Alice", surname="Lab")
db.newuser("bob", pw, givenname="Bob", surname="Lab")
db.newuser("svc_backup", pw, description="backup service - pw: " + pw)
db.newgroup("LabAdmins", description="lab admins")
db.add_remove_group_members("LabAdmins", ["alice"], add_members_operation=True)
`

// debianPython is the interpreter with Debian's samba bindings (a python3
// earlier on PATH may be a pyenv shim without them).
const debianPython = "/usr/bin/python3"

// dcTemplate is where the provisioned DC template lives: in the lab dir, or
// in $NULLSWEEP_LAB_DC_TEMPLATE so that several lab dirs (tests in private
// namespaces) share one provisioning.
func (l *Lab) dcTemplate() string {
	if d := os.Getenv("NULLSWEEP_LAB_DC_TEMPLATE"); d != "" {
		return d
	}
	return filepath.Join(l.Dir, ".dc-template")
}

// provisionDCTemplate runs samba-tool domain provision once (6-11 s) into a
// template directory; each fresh DC is a copy of it.
func (l *Lab) provisionDCTemplate(ctx context.Context, p Posture) error {
	t := l.dcTemplate()
	if err := os.MkdirAll(filepath.Dir(t), 0o755); err != nil {
		return err
	}
	unlock, err := flock(ctx, t+".lock")
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(t, ".provisioned")); err == nil {
		return nil
	}
	os.RemoveAll(t)
	if err := os.MkdirAll(filepath.Join(t, "log"), 0o755); err != nil {
		return err
	}
	env := baseEnv()
	conf := filepath.Join(t, "etc", "smb.conf")
	steps := [][]string{
		{"samba-tool", "domain", "provision", "--targetdir=" + t, "--realm=LAB.TEST", "--domain=LAB",
			"--server-role=dc", "--dns-backend=SAMBA_INTERNAL", "--use-rfc2307",
			"--adminpass=" + adminPassword, "--host-name=" + p.NetBIOS, "--host-ip=" + p.Addr,
			"--option=interfaces = " + p.Addr + "/8", "--option=bind interfaces only = yes"},
		{debianPython, "-c", dcUsers, conf, userPassword},
		{"samba-tool", "domain", "passwordsettings", "set", "-s", conf, "-H", filepath.Join(t, "private", "sam.ldb"),
			"--account-lockout-threshold=5", "--account-lockout-duration=30", "--reset-account-lockout-after=30"},
	}
	for _, s := range steps {
		if err := runTool(ctx, env, "", s...); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(t, ".provisioned"), nil, 0o644)
}

// Lines provision writes that must go: the forwarder is the host's resolver
// (off loopback), and we set our own log file and panic action.
var dropDCLine = regexp.MustCompile(`(?m)^\s*(dns forwarder|log file|panic action)\s*=.*\n`)

// instantiateDC copies the template to the posture dir (cp -a keeps the
// sysvol ACL xattrs) and points the config at the copy.
func (l *Lab) instantiateDC(ctx context.Context, p Posture) error {
	d := l.pdir(p)
	if _, err := os.Stat(filepath.Join(d, ".provisioned")); err == nil {
		return nil
	}
	os.RemoveAll(d)
	if err := runTool(ctx, baseEnv(), "", "cp", "-a", l.dcTemplate(), d); err != nil {
		return err
	}
	b, err := os.ReadFile(l.conf(p))
	if err != nil {
		return err
	}
	conf := strings.ReplaceAll(string(b), l.dcTemplate(), d)
	conf = dropDCLine.ReplaceAllString(conf, "")
	extra := strings.Join([]string{
		"pid directory = " + d + "/run",
		"ncalrpc dir = " + d + "/ncalrpc",
		// samba creates it itself with the mode it insists on (0750)
		"ntp signd socket directory = " + d + "/ntp_signd",
		"log file = " + d + "/log/log.%m",
		"log level = 1",
		"panic action =",
		"server services = -dnsupdate",
		"nbt client socket address = " + p.Addr,
		"load printers = no",
		"printcap name = /dev/null",
		"usershare max shares = 0",
	}, "\n\t")
	conf = strings.Replace(conf, "[global]\n", "[global]\n\t"+extra+"\n", 1)
	if err := os.WriteFile(l.conf(p), []byte(conf), 0o644); err != nil {
		return err
	}
	for _, sub := range []string{"run", "ncalrpc", "log", "pids", "runsamba"} {
		if err := os.MkdirAll(filepath.Join(d, sub), 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(d, ".provisioned"), nil, 0o644)
}

// upDC starts samba in its own mount namespace with a lab dir bound on
// /run/samba: the smbd inside asks winbindd through the compiled-in
// /run/samba/winbindd socket, and sharing the host's would mix DCs.
func (l *Lab) upDC(ctx context.Context, p Posture) error {
	if err := l.provisionDCTemplate(ctx, p); err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	if err := l.instantiateDC(ctx, p); err != nil {
		return fmt.Errorf("copy template: %w", err)
	}
	d := l.pdir(p)
	var dm *daemon // nil: ours from before, maybe still starting
	if _, ok := runningDaemon(d, "samba"); !ok {
		var err error
		if dm, err = l.startDC(p); err != nil {
			return err
		}
	}
	logf := filepath.Join(d, "log", "samba.out")
	if err := poll(ctx, dm, 90*time.Second, func(ctx context.Context) error {
		if !answers(ctx, p.Addr, "389") {
			return fmt.Errorf("LDAP %s:389 not answering", p.Addr)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("samba: %w (see %s)", err, logf)
	}
	if err := waitAnonList(ctx, p.Addr, dm, 90*time.Second); err != nil {
		return fmt.Errorf("samba: %w (see %s)", err, logf)
	}
	return nil
}

func (l *Lab) startDC(p Posture) (*daemon, error) {
	d := l.pdir(p)
	if err := os.MkdirAll("/run/samba", 0o755); err != nil {
		return nil, err
	}
	bin, err := sbinPath("samba")
	if err != nil {
		return nil, err
	}
	argv := []string{"/bin/sh", "-c", `mount --bind "$1" /run/samba && exec "$2" -F --no-process-group --debug-stdout -s "$3"`,
		"sh", filepath.Join(d, "runsamba"), bin, l.conf(p)}
	return startDaemon(d, "samba", argv, baseEnv(), true)
}

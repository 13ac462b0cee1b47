package lab

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// Lab accounts. Their password is public on purpose: this is a victim.
const (
	userPassword  = "Passw0rd!"
	adminPassword = "Adm1nPassw0rd!"
	bulkUsers     = 2000
)

// pdir is the posture's own directory; conf its smb.conf.
func (l *Lab) pdir(p Posture) string { return filepath.Join(l.Dir, p.Name) }

func (l *Lab) conf(p Posture) string {
	if p.DC {
		return filepath.Join(l.pdir(p), "etc", "smb.conf")
	}
	return filepath.Join(l.pdir(p), "smb.conf")
}

// nssEnv is the environment for anything that resolves unix accounts for a
// standalone posture: nss_wrapper serves them from the posture's own files,
// so the machine's /etc/passwd and /etc/group are never read or changed.
func (l *Lab) nssEnv(p Posture) ([]string, error) {
	lib, err := nssWrapperLib()
	if err != nil {
		return nil, err
	}
	d := l.pdir(p)
	return append(baseEnv(),
		"LD_PRELOAD="+lib,
		"NSS_WRAPPER_PASSWD="+filepath.Join(d, "nss", "passwd"),
		"NSS_WRAPPER_GROUP="+filepath.Join(d, "nss", "group"),
	), nil
}

func baseEnv() []string {
	return []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "HOME=/root"}
}

func nssWrapperLib() (string, error) {
	cands, _ := filepath.Glob("/usr/lib/*/libnss_wrapper.so")
	cands = append(cands, "/usr/lib/libnss_wrapper.so", "/usr/lib64/libnss_wrapper.so")
	for _, c := range cands {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("libnss_wrapper.so not found (install libnss-wrapper: scripts/setup.sh)")
}

// writeNSS writes the posture's passwd and group files. uids 3001-3003 map
// to SAMR RIDs 1000-1002 because they are added first, in this order.
func (l *Lab) writeNSS(p Posture) error {
	d := filepath.Join(l.pdir(p), "nss")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	var pw strings.Builder
	pw.WriteString("root:x:0:0:root:/root:/bin/sh\n")
	pw.WriteString("nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
	pw.WriteString("alice:x:3001:3001:lab user alice:/nonexistent:/usr/sbin/nologin\n")
	pw.WriteString("bob:x:3002:3002:lab user bob:/nonexistent:/usr/sbin/nologin\n")
	pw.WriteString("svc_backup:x:3003:3003:backup service:/nonexistent:/usr/sbin/nologin\n")
	if p.Name == "bulk" {
		for i := 1; i <= bulkUsers; i++ {
			fmt.Fprintf(&pw, "bulkuser%05d:x:%d:3100:bulk user %d:/nonexistent:/usr/sbin/nologin\n", i, i+2, i)
		}
	}
	if err := os.WriteFile(filepath.Join(d, "passwd"), []byte(pw.String()), 0o644); err != nil {
		return err
	}
	const group = `root:x:0:
nogroup:x:65534:
alice:x:3001:
bob:x:3002:
svc_backup:x:3003:
labadmins:x:3010:alice
labops:x:3011:
bulkusers:x:3100:
`
	return os.WriteFile(filepath.Join(d, "group"), []byte(group), 0o644)
}

var standaloneConf = template.Must(template.New("smb.conf").Parse(`# written by nullsweep lab - posture {{.P.Name}}
[global]
  netbios name = {{.P.NetBIOS}}
  workgroup = LAB
  server string = lab victim {{.P.Name}}
  server role = standalone server
  interfaces = {{.P.Addr}}/8
  bind interfaces only = yes
  # without this nmbd also binds 0.0.0.0:137/138
  nbt client socket address = {{.P.Addr}}
  smb ports = 445 139
  disable netbios = no
  pid directory = {{.D}}/run
  lock directory = {{.D}}/lock
  state directory = {{.D}}/state
  cache directory = {{.D}}/cache
  private dir = {{.D}}/private
  ncalrpc dir = {{.D}}/ncalrpc
  passdb backend = tdbsam:{{.D}}/private/passdb.tdb
  log file = {{.D}}/log/log.%m
  log level = 1
  map to guest = Bad User
{{range .Extra}}  {{.}}
{{end}}  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  usershare max shares = 0
  wins support = no
  dns proxy = no

[public]
  path = {{.D}}/shares/public
  comment = guest readable share
  guest ok = yes
  read only = yes
[data]
  path = {{.D}}/shares/data
  comment = team data
  valid users = alice bob
  read only = no
[backup$]
  path = {{.D}}/shares/backup
  comment = hidden backup share
  valid users = svc_backup
{{with .P.Shares}}{{.}}
{{end}}`))

// expandShares puts the posture's directory into its extra share sections
// ($POSTURE_DIR), so a custom share can live beside the standard ones.
func expandShares(p Posture, dir string) Posture {
	p.Shares = strings.ReplaceAll(p.Shares, "$POSTURE_DIR", dir)
	return p
}

// postureOptions are the lines that make each standalone posture what it is.
func postureOptions(name string) []string {
	switch name {
	case "open", "bulk":
		return []string{"restrict anonymous = 0", "server min protocol = NT1", "lanman auth = yes", "ntlm auth = yes"}
	case "restricted":
		return []string{"restrict anonymous = 2", "server min protocol = NT1"}
	case "restricted1":
		return []string{"restrict anonymous = 1", "server min protocol = NT1"}
	case "smb1only":
		return []string{"restrict anonymous = 0", "server min protocol = NT1", "server max protocol = NT1", "lanman auth = yes", "ntlm auth = yes"}
	case "smb2only":
		return []string{"restrict anonymous = 0", "server min protocol = SMB2_02"}
	}
	return nil
}

// prepareStandalone writes the config every time (so code changes apply)
// and creates accounts, groups and policy once (.provisioned marks it).
func (l *Lab) prepareStandalone(ctx context.Context, p Posture) error {
	d := l.pdir(p)
	for _, sub := range []string{"run", "lock", "state", "cache", "private", "log", "ncalrpc", "pids",
		"shares/public", "shares/data", "shares/backup"} {
		if err := os.MkdirAll(filepath.Join(d, sub), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(d, "shares/public/readme.txt"), []byte("nothing to see\n"), 0o644); err != nil {
		return err
	}
	if err := l.writeNSS(p); err != nil {
		return err
	}
	var conf strings.Builder
	if err := standaloneConf.Execute(&conf, struct {
		P     Posture
		D     string
		Extra []string
	}{expandShares(p, d), d, p.options()}); err != nil {
		return err
	}
	if err := os.WriteFile(l.conf(p), []byte(conf.String()), 0o644); err != nil {
		return err
	}
	marker := filepath.Join(d, ".provisioned")
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	// A half-done earlier attempt would shift the RIDs: start the account
	// database afresh.
	for _, sub := range []string{"private", "state", "lock", "cache"} {
		os.RemoveAll(filepath.Join(d, sub))
		os.MkdirAll(filepath.Join(d, sub), 0o755)
	}
	env, err := l.nssEnv(p)
	if err != nil {
		return err
	}
	cf := l.conf(p)
	run := func(stdin string, argv ...string) error { return runTool(ctx, env, stdin, argv...) }
	for _, u := range []string{"alice", "bob", "svc_backup"} {
		pw := userPassword + "\n" + userPassword + "\n"
		if err := run(pw, "smbpasswd", "-c", cf, "-s", "-a", u); err != nil {
			return err
		}
	}
	steps := [][]string{
		{"net", "-s", cf, "groupmap", "add", "ntgroup=LabAdmins", "unixgroup=labadmins", "type=domain", "comment=lab admins"},
		{"net", "-s", cf, "groupmap", "add", "ntgroup=LabOps", "unixgroup=labops", "type=local", "comment=local alias"},
		{"pdbedit", "-s", cf, "-P", "min password length", "-C", "8"},
		{"pdbedit", "-s", cf, "-P", "bad lockout attempt", "-C", "5"},
		{"pdbedit", "-s", cf, "-P", "lockout duration", "-C", "30"},
	}
	for _, s := range steps {
		if err := run("", s...); err != nil {
			return err
		}
	}
	if p.Name == "bulk" {
		// smbpasswd-format import without RIDs: Samba gives the algorithmic
		// RID 2*uid+1000, so bulkuser00001 (uid 3) is RID 1006.
		f := filepath.Join(d, "nss", "bulk.smbpasswd")
		var b strings.Builder
		for i := 1; i <= bulkUsers; i++ {
			fmt.Fprintf(&b, "bulkuser%05d:%d:%s:%s:[U          ]:LCT-00000000:\n", i, i+2,
				strings.Repeat("X", 32), strings.Repeat("X", 32))
		}
		if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
			return err
		}
		if err := run("", "pdbedit", "-s", cf, "-i", "smbpasswd:"+f, "-e", "tdbsam:"+filepath.Join(d, "private", "passdb.tdb")); err != nil {
			return err
		}
	}
	return os.WriteFile(marker, nil, 0o644)
}

// upStandalone starts smbd (and nmbd for open) unless already running.
func (l *Lab) upStandalone(ctx context.Context, p Posture) error {
	if err := l.prepareStandalone(ctx, p); err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	env, err := l.nssEnv(p)
	if err != nil {
		return err
	}
	d := l.pdir(p)
	names := []string{"smbd"}
	if p.NMBD {
		names = append(names, "nmbd")
	}
	for _, name := range names {
		if _, ok := runningDaemon(d, name); ok {
			if name == "smbd" { // ours, maybe still starting
				if err := waitSMB(ctx, p.Addr, nil, 30*time.Second); err != nil {
					return fmt.Errorf("smbd: %w", err)
				}
			}
			continue
		}
		bin, err := sbinPath(name)
		if err != nil {
			return err
		}
		dm, err := startDaemon(d, name, []string{bin, "-F", "--no-process-group", "--debug-stdout", "-s", l.conf(p)}, env, false)
		if err != nil {
			return err
		}
		if name == "smbd" {
			if err := waitSMB(ctx, p.Addr, dm, 30*time.Second); err != nil {
				return fmt.Errorf("smbd: %w (see %s)", err, filepath.Join(d, "log", "smbd.out"))
			}
			warmUp(ctx, p)
		}
	}
	return nil
}

// runTool runs a Samba admin tool, returning its output's tail on failure.
func runTool(ctx context.Context, env []string, stdin string, argv ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := command(ctx, env, stdin, argv...)
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv[:min(len(argv), 3)], " "), err, tail(out, 5))
	}
	return nil
}

// tail returns the last n lines of out, on one line.
func tail(out []byte, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			lines = append(lines, s)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// warmUp lists shares once as a null session. smbd starts samba-dcerpcd and
// its rpcd_* workers on the first pipe open, which takes seconds on a busy
// machine; paying that here keeps it out of the first test's timeouts.
// Best effort: restricted refuses, and that is fine.
func warmUp(ctx context.Context, p Posture) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	args := []string{"smbclient", "-U", "%", "-L", "//" + p.Addr}
	if p.Name == "smb1only" {
		args = append(args, "-m", "NT1", "--option=client min protocol=NT1")
	}
	command(ctx, baseEnv(), "", args...)
}

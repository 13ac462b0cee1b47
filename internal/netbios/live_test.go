package netbios

import (
	"context"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// nmblookupNames runs the oracle and returns "NAME<xx>[ group]" lines.
func nmblookupNames(t *testing.T, addr string) []string {
	out, err := exec.Command("nmblookup", "-A", addr).CombinedOutput()
	if err != nil {
		t.Fatalf("nmblookup: %v\n%s", err, out)
	}
	re := regexp.MustCompile(`^\s+(.{15}) <([0-9a-f]{2})> - (<GROUP> )?`)
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		s := strings.TrimRight(m[1], " ") + "<" + m[2] + ">"
		if m[3] != "" {
			s += " group"
		}
		names = append(names, s)
	}
	return names
}

func TestLiveNodeStatusMatchesNmblookup(t *testing.T) {
	addrs := labtest.Require(t, "open", "dc")
	for _, posture := range []string{"open", "dc"} {
		addr := addrs[posture]
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := QueryNodeStatus(ctx, addr)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", posture, err)
		}
		var got []string
		for _, n := range st.Names {
			s := n.Printable() + "<" + strings.ToLower(hexByte(n.Suffix)) + ">"
			if n.Group {
				s += " group"
			}
			got = append(got, s)
		}
		want := nmblookupNames(t, addr)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s names:\n got %q\nwant %q (nmblookup -A)", posture, got, want)
		}
		if len(st.MAC) != 6 {
			t.Errorf("%s: MAC %v", posture, st.MAC)
		}
		if *update {
			captureNodeStatus(t, addr, map[string]string{"open": "nbstat_opensrv.hex", "dc": "nbstat_dc1.hex"}[posture])
		}
	}
}

func hexByte(b byte) string {
	const d = "0123456789abcdef"
	return string([]byte{d[b>>4], d[b&15]})
}

// captureNodeStatus stores the raw reply to EncodeNodeStatusRequest(0x1234).
func captureNodeStatus(t *testing.T, addr, file string) {
	conn, err := net.Dial("udp", net.JoinHostPort(addr, "137"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(3 * time.Second))
	conn.Write(EncodeNodeStatusRequest(0x1234))
	buf := make([]byte, 1500)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	writeHex(t, file, buf[:n])
}

func TestLiveSessionOn139(t *testing.T) {
	addrs := labtest.Require(t, "open")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var d net.Dialer
	dial := func(ctx context.Context) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", net.JoinHostPort(addrs["open"], "139"))
	}
	conn, err := DialSession(ctx, dial, "", SMBServerName, "OPENSRV")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// An SMB1 NEGOTIATE for NT LM 0.12 must be answered in a frame.
	neg := []byte{0xff, 'S', 'M', 'B', 0x72, 0, 0, 0, 0, 0x18, 0x01, 0x48, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0, 0, 0,
		0, 12, 0, 2, 'N', 'T', ' ', 'L', 'M', ' ', '0', '.', '1', '2', 0}
	if err := WriteFrame(conn, neg); err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	reply, err := ReadFrame(conn, 1<<17)
	if err != nil {
		t.Fatal(err)
	}
	if len(reply) < 37 || string(reply[:4]) != "\xffSMB" || reply[4] != 0x72 || reply[33] != 0 || reply[34] != 0 {
		t.Fatalf("negotiate reply %x", reply)
	}
}

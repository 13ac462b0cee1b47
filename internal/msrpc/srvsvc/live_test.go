package srvsvc

import (
	"context"
	"errors"
	"flag"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/dcerpc/dcerpctest"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/werror"
)

// -update records the response stubs into testdata/ as <posture>_opnum<N>_<i>.hex;
// the files checked in were renamed after what they hold.
var update = flag.Bool("update", false, "record response stubs from the lab into testdata/")

func liveClient(t *testing.T, host, prefix string) *Client {
	c := dcerpctest.Pipe(t, host, "srvsvc", dcerpc.SRVSVC)
	rec := &dcerpctest.Recorder{Caller: c, Prefix: prefix}
	if *update {
		rec.Dir = "testdata"
	}
	return New(rec, host)
}

// TestLiveAgainstRpcclient compares shares and server info with
// rpcclient's netshareenumall and srvinfo on the open server and the DC.
func TestLiveAgainstRpcclient(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: live lab test")
	}
	addrs := labtest.Require(t, "open", "dc")
	for _, posture := range []string{"open", "dc"} {
		t.Run(posture, func(t *testing.T) {
			host := addrs[posture]
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c := liveClient(t, host, posture)

			shares, level, err := c.Shares(ctx)
			if err != nil || level != 1 {
				t.Fatalf("shares: level %d, %v", level, err)
			}
			// One rpcclient run: the share list, then srvinfo's lines.
			oracle := dcerpctest.Rpcclient(t, host, "netshareenumall 1; srvinfo")
			var want, got []string
			re := regexp.MustCompile(`netname: (.*)\n\tremark:\t(.*)`)
			for _, m := range re.FindAllStringSubmatch(oracle, -1) {
				want = append(want, m[1]+"|"+m[2])
			}
			for _, s := range shares {
				got = append(got, s.Name+"|"+s.Remark)
			}
			if len(want) == 0 || !slices.Equal(got, want) {
				t.Fatalf("shares\n got %q\nwant %q (rpcclient)", got, want)
			}
			for _, s := range shares {
				if s.Name == "IPC$" && TypeString(s.Type) != "ipc+special" {
					t.Errorf("IPC$ type %s", TypeString(s.Type))
				}
			}
			if posture == "open" && !slices.Contains(got, "backup$|hidden backup share") {
				t.Errorf("hidden share missing")
			}

			info, err := c.ServerInfo(ctx)
			if err != nil {
				t.Fatal(err)
			}
			srvinfo := oracle[strings.LastIndex(oracle, "\tremark:\t"):]
			srvinfo = srvinfo[strings.Index(srvinfo, "\n")+1:]
			fields := strings.Fields(srvinfo)
			if len(fields) == 0 || !strings.EqualFold(fields[0], info.Name) {
				t.Errorf("name %q, rpcclient %q", info.Name, oracle)
			}
			if !strings.Contains(oracle, "platform_id     :\t"+strconv.Itoa(int(info.PlatformID))) ||
				!strings.Contains(oracle, "os version      :\t"+strconv.Itoa(int(info.VersionMajor))+"."+strconv.Itoa(int(info.VersionMinor))) ||
				!strings.Contains(oracle, "server type     :\t0x"+strconv.FormatUint(uint64(info.Type), 16)) ||
				!strings.Contains(srvinfo, info.Comment) || info.Level != 101 {
				t.Errorf("info %+v vs rpcclient\n%s", info, srvinfo)
			}
		})
	}
}

// TestLiveRestrictAnonymous1: with restrict anonymous = 1 the pipe opens
// and binds, and both calls come back ERROR_ACCESS_DENIED (rpcclient says
// WERR_ACCESS_DENIED), not a transport error.
func TestLiveRestrictAnonymous1(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: live lab test")
	}
	addrs := labtest.Require(t, "restricted1")
	host := addrs["restricted1"]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := liveClient(t, host, "restricted1")
	if oracle := dcerpctest.Rpcclient(t, host, "netshareenumall"); !strings.Contains(oracle, "WERR_ACCESS_DENIED") {
		t.Fatalf("oracle disagrees with the lab: %s", oracle)
	}
	_, _, err := c.Shares(ctx)
	var code werror.Code
	if !errors.As(err, &code) || code != werror.AccessDenied {
		t.Fatalf("shares: %v", err)
	}
	_, err = c.ServerInfo(ctx)
	if !errors.As(err, &code) || code != werror.AccessDenied {
		t.Fatalf("server info: %v", err)
	}
}

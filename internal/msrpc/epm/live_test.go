package epm

import (
	"context"
	"errors"
	"flag"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/dcerpc/dcerpctest"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// -update records the response stubs into testdata/ as <prefix>_opnum<N>_<i>.hex.
var update = flag.Bool("update", false, "record response stubs from the lab into testdata/")

func liveClient(t *testing.T, host, prefix string) *Client {
	c := dcerpctest.TCP(t, host, "135", dcerpc.EPM)
	rec := &dcerpctest.Recorder{Caller: c, Prefix: prefix}
	if *update {
		rec.Dir = "testdata"
	}
	return New(rec)
}

// rpcclientEntries runs rpcclient's epmlookup over ncacn_ip_tcp and returns
// its entry lines ("object binding: annotation").
func rpcclientEntries(t *testing.T, host string) []string {
	out := dcerpctest.Rpcclient(t, "ncacn_ip_tcp:"+host, "epmlookup")
	if !strings.Contains(out, "epm_Lookup no more entries") {
		t.Fatalf("rpcclient epmlookup did not reach the end of the list:\n%s", out)
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "abstract_syntax=") {
			lines = append(lines, l)
		}
	}
	return lines
}

func entryLines(es []Entry) []string {
	var got []string
	for _, e := range es {
		got = append(got, e.Object.String()+" "+e.Binding()+": "+e.Annotation)
	}
	return got
}

// TestLiveLookupEqualsRpcclient: the DC's endpoint list read over TCP 135
// equals rpcclient's epmlookup, whatever the number of entries per call
// (one per call is what rpcclient does; 500 is what made other tools stop
// at the status that ends the list).
func TestLiveLookupEqualsRpcclient(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: live lab test")
	}
	host := labtest.Require(t, "dc")["dc"]
	want := rpcclientEntries(t, host)
	if len(want) < 40 {
		t.Fatalf("rpcclient listed only %d entries", len(want))
	}
	for _, per := range []int{1, 7, DefaultPerCall, 500} {
		t.Run(strconv.Itoa(per), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			prefix := "dc"
			if per != DefaultPerCall {
				prefix = "dc_per" + strconv.Itoa(per)
			}
			c := liveClient(t, host, prefix)
			c.PerCall = per
			es, err := c.Lookup(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := entryLines(es)
			if !slices.Equal(got, want) {
				t.Fatalf("entries differ from rpcclient\n got %d %q\nwant %d %q", len(got), got, len(want), want)
			}
			tcp := 0
			for _, e := range es {
				if e.TowerErr != nil {
					t.Errorf("tower: %v", e.TowerErr)
				}
				if e.Tower.Protocol == "ncacn_ip_tcp" {
					tcp++
				}
			}
			t.Logf("%d entries, %d on ncacn_ip_tcp", len(es), tcp)
		})
	}
}

// TestLiveMap: ept_map finds LSARPC and SAMR on the ports the full list
// gives them, and an interface nobody registered is ept_s_not_registered.
func TestLiveMap(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: live lab test")
	}
	host := labtest.Require(t, "dc")["dc"]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := liveClient(t, host, "dc_map")
	es, err := c.Lookup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, iface := range []dcerpc.SyntaxID{dcerpc.LSARPC, dcerpc.SAMR, dcerpc.NETLOGON} {
		var ports []string
		for _, e := range es {
			if e.Tower != nil && e.Tower.Protocol == "ncacn_ip_tcp" && e.Tower.Interface == iface {
				ports = append(ports, e.Tower.Endpoint)
			}
		}
		towers, err := c.Map(ctx, iface, 4)
		if err != nil {
			t.Fatalf("map %s: %v", iface, err)
		}
		if len(towers) == 0 || !slices.Contains(ports, towers[0].Endpoint) || towers[0].Interface != iface {
			t.Fatalf("map %s: %+v, lookup ports %v", iface, towers, ports)
		}
	}
	_, err = c.Map(ctx, dcerpc.SRVSVC, 4)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != StatusNotRegistered {
		t.Fatalf("map srvsvc (not on TCP here): %v", err)
	}
}

package enum

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/hostile"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// slowRTT is the round trip of the slow link: a host a continent away.
const slowRTT = 20 * time.Millisecond

// BenchmarkSlowLink times -U -S -P -G -L on a lab host behind a link of
// slowRTT (hostile.Latency on 127.0.1.70), where round trips cost more
// than the server's work: the checks beside each other (the default), the
// same checks one after another, and rpcclient with the same calls in one
// process through the same link. Each reports round trips' worth
// (ns/op / slowRTT) as rtts/op.
func BenchmarkSlowLink(b *testing.B) {
	for _, posture := range []string{"open", "bulk"} {
		up := labtest.Require(b, posture)[posture]
		addr := hostile.Addr(70)
		if posture == "bulk" {
			addr = hostile.Addr(71)
		}
		s, err := hostile.Listen(addr, []int{445, 139}, hostile.Latency(up, slowRTT/2))
		if err != nil {
			b.Fatal(err)
		}
		opt := Options{Timeout: time.Minute, NoGuest: true, Checks: CheckUsers | CheckShares | CheckPolicy | CheckGroups | CheckLSA}
		seq := opt
		seq.sequential = true
		for _, v := range []struct {
			name string
			opt  Options
		}{{"beside", opt}, {"sequential", seq}} {
			b.Run(posture+"/"+v.name, func(b *testing.B) {
				for b.Loop() {
					if r := Run(context.Background(), addr, v.opt); r.Error != "" || len(r.Users) == 0 {
						b.Fatalf("stopped at %s: %s (%d users)", r.Layer, r.Error, len(r.Users))
					}
				}
				b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(slowRTT), "rtts/op")
			})
		}
		if posture == "bulk" {
			b.Run("bulk/rids-500-5100", func(b *testing.B) {
				ropt := Options{Timeout: time.Minute, NoGuest: true, Checks: CheckRIDs,
					RIDs: RIDOptions{Ranges: []RIDRange{{500, 5100}}}}
				for b.Loop() {
					if r := Run(context.Background(), addr, ropt); r.Error != "" || len(r.RIDs) < 2000 {
						b.Fatalf("stopped at %s: %s (%d names)", r.Layer, r.Error, len(r.RIDs))
					}
				}
				b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(slowRTT), "rtts/op")
			})
		}
		b.Run(posture+"/rpcclient", func(b *testing.B) {
			if _, err := exec.LookPath("rpcclient"); err != nil {
				labtest.OracleMissing(b, "rpcclient")
			}
			for b.Loop() {
				cmd := exec.Command("rpcclient", "-U", "", "-N", addr, "-c",
					"srvinfo;lsaquery;lsaquery 5;enumdomusers;querydispinfo;enumdomgroups;enumalsgroups builtin;enumalsgroups domain;querydominfo;getdompwinfo;enumtrust;netshareenumall")
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("rpcclient: %v\n%s", err, out)
				}
			}
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(slowRTT), "rtts/op")
		})
		s.Close()
	}
}

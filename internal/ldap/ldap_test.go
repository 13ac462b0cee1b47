package ldap

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"syscall"
	"testing"
	"time"
)

func selfSigned(t *testing.T, name string, notAfter time.Time) *x509.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: notAfter.Add(-48 * time.Hour), NotAfter: notAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCertificate(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	good := selfSigned(t, "dc1.example.test", now.Add(24*time.Hour))
	old := selfSigned(t, "dc1.example.test", now.Add(-time.Hour))
	pool := x509.NewCertPool()
	pool.AddCert(good)
	pool.AddCert(old)
	for _, c := range []struct {
		name     string
		cert     *x509.Certificate
		host     string
		roots    *x509.CertPool
		verified bool
		expired  bool
	}{
		{"trusted, name matches", good, "dc1.example.test", pool, true, false},
		{"trusted, dialled by address", good, "127.0.0.10", pool, false, false},
		{"untrusted", good, "dc1.example.test", x509.NewCertPool(), false, false},
		{"expired", old, "dc1.example.test", pool, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := certificate([]*x509.Certificate{c.cert}, c.host, c.roots, now)
			if got.Verified != c.verified || got.Expired != c.expired || !got.SelfSigned || got.Subject != "CN=dc1.example.test" {
				t.Fatalf("%+v", got)
			}
			if !c.verified && got.VerifyError == "" {
				t.Fatalf("no verify error")
			}
		})
	}
	if certificate(nil, "x", nil, now) != nil {
		t.Fatal("no chain gives a certificate")
	}
}

func TestNames(t *testing.T) {
	for v, want := range map[string]string{"4": "2008 R2", "6": "2012 R2", "7": "2016", "10": "2025"} {
		if functionalLevels[v] != want {
			t.Errorf("level %s = %q", v, functionalLevels[v])
		}
	}
	o := namedOIDs([]string{"1.2.840.113556.1.4.800", "1.2.3.4"})
	if o[0].Name != "LDAP_CAP_ACTIVE_DIRECTORY_OID" || o[1].Name != "" {
		t.Fatalf("%+v", o)
	}
	if resultName(1) != "operationsError" || resultName(99) != "99" {
		t.Fatal(resultName(1), resultName(99))
	}
}

// TestProbeTimesEveryReturn: the time a port took is kept on every path,
// a full probe's as well as a refused connection's (enum reports it in the
// port's check).
func TestProbeTimesEveryReturn(t *testing.T) {
	segs := splitSegments(loadSegments(t, "dc_389.hex"))
	for _, dial := range []func(ctx context.Context, network, addr string) (net.Conn, error){
		func(context.Context, string, string) (net.Conn, error) { return nil, syscall.ECONNREFUSED },
		pipeDial(segs),
	} {
		slow := func(ctx context.Context, network, addr string) (net.Conn, error) {
			time.Sleep(30 * time.Millisecond)
			return dial(ctx, network, addr)
		}
		p := ProbePort(context.Background(), "x", Port{389, false, false}, Options{Dial: slow})
		if p.MS < 30 || p.Error != "" {
			t.Fatalf("%+v", p)
		}
	}
}

// TestDeadlineIsNoPortState: a connect that the host's deadline (or a
// cancel) ends says nothing about the port: no state, the error at connect.
// It read "filtered" before, as if the port had been found silent.
func TestDeadlineIsNoPortState(t *testing.T) {
	for name, mk := range map[string]func() (context.Context, context.CancelFunc){
		"cancelled": func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		},
		"host deadline": func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := mk()
			defer cancel()
			// A dial that waits for its context, as a connect no one answers.
			wait := func(ctx context.Context, _, _ string) (net.Conn, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			p := ProbePort(ctx, "x", Port{389, false, false}, Options{Dial: wait})
			if p.State != "" || p.Layer != "connect" || p.Error == "" {
				t.Errorf("state %q, layer %q, error %q; want no state and the error at connect", p.State, p.Layer, p.Error)
			}
		})
	}
	// The connect's own timeout with the host's time left is "filtered".
	wait := func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if p := ProbePort(context.Background(), "x", Port{389, false, false}, Options{Dial: wait, PortTimeout: time.Minute}); p.State != Filtered {
		t.Errorf("connect timeout: state %q, want %q", p.State, Filtered)
	}
}

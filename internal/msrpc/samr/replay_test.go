package samr

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// replayOpen answers like the lab's open server, from its captures, except
// where a test overrides an opnum: what a real Samba will not do on
// demand (fault on opnum 46, refuse a class).
func replayOpen(t *testing.T, override map[uint16]func(req []byte) ([]byte, error)) *fakeRPC {
	builtin := []byte{'B', 0, 'u', 0, 'i', 0, 'l', 0, 't', 0, 'i', 0, 'n', 0}
	return &fakeRPC{answerReq: func(op uint16, req []byte) ([]byte, error) {
		if f, ok := override[op]; ok {
			return f(req)
		}
		switch op {
		case OpConnect5:
			return capture(t, "open-Connect5"), nil
		case OpEnumerateDomainsInSamServer:
			return capture(t, "open-EnumerateDomains"), nil
		case OpLookupDomainInSamServer:
			if bytes.Contains(req, builtin) {
				return capture(t, "open-LookupDomain-builtin"), nil
			}
			return capture(t, "open-LookupDomain-account"), nil
		case OpOpenDomain:
			return capture(t, "open-OpenDomain-account"), nil
		case OpQueryInformationDomain, OpQueryInformationDomain2:
			class := binary.LittleEndian.Uint16(req[20:])
			return capture(t, "open-QueryInformationDomain2-"+map[uint16]string{1: "1", 3: "3", 12: "12"}[class]), nil
		case OpGetDomainPasswordInformation:
			return capture(t, "open-GetDomainPasswordInformation"), nil
		case OpCloseHandle:
			return capture(t, "open-CloseHandle"), nil
		}
		t.Fatalf("unexpected opnum %d", op)
		return nil, nil
	}}
}

func callNames(calls []Call) []string {
	var out []string
	for _, c := range calls {
		if c.Name != "samr.CloseHandle" {
			out = append(out, strings.TrimPrefix(c.Name, "samr.")+" "+c.Detail+" = "+c.Status)
		}
	}
	return out
}

// Opnum 46 faulting moves the policy read to opnum 8; a refused password
// class falls back to GetDomainPasswordInformation.
func TestPolicyFallbacks(t *testing.T) {
	f := replayOpen(t, map[uint16]func([]byte) ([]byte, error){
		OpQueryInformationDomain2: func([]byte) ([]byte, error) { return nil, &dcerpc.Fault{Status: 0x1c010002} },
		OpQueryInformationDomain: func(req []byte) ([]byte, error) {
			switch binary.LittleEndian.Uint16(req[20:]) {
			case 3:
				return capture(t, "open-QueryInformationDomain2-3"), nil
			case 12:
				return capture(t, "open-QueryInformationDomain2-12"), nil
			}
			return le(0, uint32(ntstatus.AccessDenied)), nil
		},
	})
	e, err := New(f).Enumerate(context.Background(), Options{Policy: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Connect5 access 0x31 = STATUS_SUCCESS",
		"EnumerateDomainsInSamServer resume 0 = STATUS_SUCCESS",
		"LookupDomainInSamServer OPENSRV = STATUS_SUCCESS",
		"LookupDomainInSamServer Builtin = STATUS_SUCCESS",
		"OpenDomain " + openSID + " access 0x305 = STATUS_SUCCESS",
		"QueryInformationDomain2 class 1 = nca_s_op_rng_error",
		"QueryInformationDomain class 1 = STATUS_ACCESS_DENIED",
		"QueryInformationDomain class 3 = STATUS_SUCCESS",
		"QueryInformationDomain class 12 = STATUS_SUCCESS",
		"GetDomainPasswordInformation  = STATUS_SUCCESS",
	}
	if d := cmp.Diff(want, callNames(e.Calls)); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	p := e.Policy
	if p == nil || p.Password != nil || p.Fallback == nil || p.Fallback.MinLength != 8 || p.Lockout == nil || p.Lockout.Threshold != 5 || p.ForceLogoff == nil {
		t.Errorf("policy %+v", p)
	}
}

// The account domain is chosen by SID: a hint that matches no domain is an
// error, not a silent fall back to the first domain.
func TestAccountDomainBySID(t *testing.T) {
	e, err := New(replayOpen(t, nil)).Enumerate(context.Background(), Options{DomainSID: openSID})
	if err != nil || e.Account == nil || e.Account.Name != "OPENSRV" || e.Builtin == nil || e.Builtin.Name != "Builtin" {
		t.Fatalf("%+v %v", e, err)
	}
	_, err = New(replayOpen(t, nil)).Enumerate(context.Background(), Options{DomainSID: "S-1-5-21-1-2-3"})
	if err == nil || !strings.Contains(err.Error(), "no account domain") {
		t.Errorf("wrong hint: %v", err)
	}
}

// With the domain list refused, a known SID still opens the domain.
func TestDomainsRefusedButSIDKnown(t *testing.T) {
	f := replayOpen(t, map[uint16]func([]byte) ([]byte, error){
		OpEnumerateDomainsInSamServer: func([]byte) ([]byte, error) { return le(0, 0, 0, uint32(ntstatus.AccessDenied)), nil },
	})
	e, err := New(f).Enumerate(context.Background(), Options{Policy: true, DomainSID: openSID})
	if err != nil || e.Account == nil || e.Account.SID.String() != openSID || e.Policy == nil || e.Policy.Password.MinLength != 8 {
		t.Fatalf("%+v %v", e, err)
	}
	if got := callNames(e.Calls)[1]; got != "EnumerateDomainsInSamServer resume 0 = STATUS_ACCESS_DENIED" {
		t.Errorf("evidence %q", got)
	}
	if _, err := New(f).Enumerate(context.Background(), Options{Policy: true}); !errors.Is(err, ntstatus.AccessDenied) {
		t.Errorf("no hint: %v", err)
	}
}

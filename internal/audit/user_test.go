package audit

import (
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/enum"
)

func TestGapAndDecisions(t *testing.T) {
	for _, tc := range []struct{ anon, user, want string }{
		{No, Yes, GapUserOnly}, {Yes, Yes, GapBoth}, {No, No, GapNeither}, {Yes, No, GapAnonymousOnly},
		{"", Yes, GapUnknown}, {Unknown, Yes, GapUnknown}, {Yes, "", GapUnknown},
	} {
		if got := gapOf(tc.anon, tc.user); got != tc.want {
			t.Errorf("%q/%q: %q, want %q", tc.anon, tc.user, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name  string
		items []Gap
		want  []string
	}{
		{"RA2", []Gap{{Key: ExpIPC, Gap: GapUserOnly}}, []string{"RestrictAnonymous=2"}},
		{"closed to all", []Gap{{Key: ExpIPC, Gap: GapNeither}}, []string{"refused to L\\u too"}},
		{"RA1", []Gap{{Key: ExpIPC, Gap: GapBoth}, {Key: ExpUsers, Anonymous: No, User: Yes, Gap: GapUserOnly}}, []string{"RestrictAnonymous=1"}},
		{"remote SAM", []Gap{{Key: ExpIPC, Gap: GapBoth}, {Key: ExpUsers, Anonymous: No, User: No, Gap: GapNeither}}, []string{"no anonymous restriction: users", "RestrictRemoteSAM"}},
		{"nothing to say", []Gap{{Key: ExpIPC, Gap: GapBoth}, {Key: ExpUsers, Anonymous: Yes, User: Yes, Gap: GapBoth}}, nil},
	} {
		v := &UserView{Account: `L\u`, Items: tc.items}
		got := strings.Join(v.decisions(), "\n")
		if (tc.want == nil) != (got == "") {
			t.Errorf("%s: %q", tc.name, got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.name, got, w)
			}
		}
	}
}

func TestCredentialRefused(t *testing.T) {
	for _, tc := range []struct {
		s    *enum.SessionResult
		want bool
	}{
		{&enum.SessionResult{Result: enum.Denied, Status: "STATUS_LOGON_FAILURE"}, true},
		{&enum.SessionResult{Result: enum.Denied, Status: "STATUS_ACCOUNT_LOCKED_OUT"}, true},
		{&enum.SessionResult{Result: enum.Denied, Status: "STATUS_ACCESS_DENIED"}, false},
		{&enum.SessionResult{Result: enum.Allowed, Status: "STATUS_SUCCESS"}, false},
		{nil, false},
	} {
		r := &enum.Result{Sessions: map[string]*enum.SessionResult{}}
		if tc.s != nil {
			r.Sessions["user"] = tc.s
		}
		if got := CredentialRefused(r); got != tc.want {
			t.Errorf("%+v: %v", tc.s, got)
		}
	}
}

func TestSettle(t *testing.T) {
	for _, tc := range []struct {
		name      string
		items     []Gap
		state     string
		evidence  string
		unchanged bool
	}{
		{"RA2 confirmed", []Gap{{Key: ExpIPC, Gap: GapUserOnly}}, StateObserved, "IPC$ allowed", false},
		{"RA1 confirmed", []Gap{{Key: ExpIPC, Gap: GapBoth}, {Key: ExpUsers, Gap: GapUserOnly}}, StateObserved, "users enumerated", false},
		{"closed to all", []Gap{{Key: ExpIPC, Gap: GapNeither}}, StateConsistent, "not anonymous-only", false},
		{"SAMR closed to all", []Gap{{Key: ExpIPC, Gap: GapBoth}, {Key: ExpUsers, Gap: GapNeither}}, StateConsistent, "not anonymous-only", false},
		{"open to both", []Gap{{Key: ExpIPC, Gap: GapBoth}, {Key: ExpUsers, Gap: GapBoth}}, StateObserved, "", true},
	} {
		v := &UserView{Account: `L\u`, Items: tc.items}
		s := []SettingState{{Name: SambaRestrictAnonymous, State: StateObserved, Value: "2", Evidence: []string{"x"}}, {Name: "guest ok", State: StateObserved, Value: "yes"}}
		v.settle(s)
		got := s[0]
		if got.State != tc.state || (tc.unchanged != (len(got.Evidence) == 1)) || !strings.Contains(strings.Join(got.Evidence, "|"), tc.evidence) {
			t.Errorf("%s: %+v", tc.name, got)
		}
		if s[1].State != StateObserved || len(s[1].Evidence) != 0 {
			t.Errorf("%s: another setting changed: %+v", tc.name, s[1])
		}
	}
}

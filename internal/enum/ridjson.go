package enum

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ridJSON is RID as JSON: Domain is an index into rid_cycling.domains, or
// the name when the RID is encoded on its own (outside a Result).
type ridJSON struct {
	RID    uint32          `json:"rid"`
	SID    string          `json:"sid"`
	Name   string          `json:"name"`
	Domain json.RawMessage `json:"domain"`
	Type   string          `json:"type"`
}

// MarshalJSON writes domain as its index when Result's MarshalJSON set
// one, else as the name.
func (r RID) MarshalJSON() ([]byte, error) {
	var dom []byte
	var err error
	if r.domainRef > 0 {
		dom = fmt.Appendf(nil, "%d", r.domainRef-1)
	} else if dom, err = json.Marshal(r.Domain); err != nil {
		return nil, err
	}
	return json.Marshal(ridJSON{RID: r.RID, SID: r.SID, Name: r.Name, Domain: dom, Type: r.Type})
}

// UnmarshalJSON reads domain as an index (resolved by Result's
// UnmarshalJSON) or as a name (a RID encoded on its own, or a record
// written before domains were indexed).
func (r *RID) UnmarshalJSON(b []byte) error {
	var x ridJSON
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*r = RID{RID: x.RID, SID: x.SID, Name: x.Name, Type: x.Type}
	if len(x.Domain) == 0 || string(x.Domain) == "null" {
		return nil
	}
	if x.Domain[0] == '"' {
		return json.Unmarshal(x.Domain, &r.Domain)
	}
	var i int
	if err := json.Unmarshal(x.Domain, &i); err != nil {
		return fmt.Errorf("rid %s: domain: %w", x.SID, err)
	}
	if i < 0 {
		return fmt.Errorf("rid %s: domain index %d", x.SID, i)
	}
	r.domainRef = i + 1
	return nil
}

// MarshalJSON adds the table of domains (domains) to rid_cycling.
func (c RIDCycling) MarshalJSON() ([]byte, error) {
	type plain RIDCycling
	return json.Marshal(struct {
		plain
		Domains []RIDDomain `json:"domains,omitempty"`
	}{plain(c), c.domains})
}

// UnmarshalJSON keeps rid_cycling.domains for Result's UnmarshalJSON.
func (c *RIDCycling) UnmarshalJSON(b []byte) error {
	type plain RIDCycling
	var x struct {
		plain
		Domains []RIDDomain `json:"domains"`
	}
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*c = RIDCycling(x.plain)
	c.domains = x.Domains
	return nil
}

// domainSID is the SID a RID was counted in: its own SID less the last
// sub-authority.
func domainSID(sid string) string {
	if i := strings.LastIndexByte(sid, '-'); i > 0 {
		return sid[:i]
	}
	return ""
}

// MarshalJSON lists each domain of rids[] once in rid_cycling.domains and
// has every RID refer to it by index (see RID).
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	p := plain(r)
	if len(r.RIDs) > 0 {
		rc := RIDCycling{}
		if r.RIDCycling != nil {
			rc = *r.RIDCycling
		}
		rc.domains = nil
		index := map[RIDDomain]int{}
		p.RIDs = make([]RID, len(r.RIDs))
		for i, x := range r.RIDs {
			d := RIDDomain{Name: x.Domain, SID: domainSID(x.SID)}
			n, ok := index[d]
			if !ok {
				n = len(rc.domains)
				index[d] = n
				rc.domains = append(rc.domains, d)
			}
			x.domainRef = n + 1
			p.RIDs[i] = x
		}
		p.RIDCycling = &rc
	}
	return json.Marshal(p)
}

// UnmarshalJSON resolves rids[].domain indices to names.
func (r *Result) UnmarshalJSON(b []byte) error {
	type plain Result
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	var doms []RIDDomain
	if p.RIDCycling != nil {
		doms = p.RIDCycling.domains
		p.RIDCycling.domains = nil
	}
	for i := range p.RIDs {
		x := &p.RIDs[i]
		if x.domainRef == 0 {
			continue
		}
		if x.domainRef > len(doms) {
			return fmt.Errorf("rids[%d]: domain %d of %d in rid_cycling.domains", i, x.domainRef-1, len(doms))
		}
		x.Domain = doms[x.domainRef-1].Name
		x.domainRef = 0
	}
	*r = Result(p)
	return nil
}

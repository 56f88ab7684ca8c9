package scenario

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// what is the decision as expectations write it, without its time:
// "Kind [job] [worker]".
func (d Decision) what() string {
	s := d.Kind
	if d.Job != "" {
		s += " " + d.Job
	}
	if d.Worker != "" {
		s += " " + d.Worker
	}
	return s
}

// String is the decision with its time: "24s WorkerOfferIssued j1 a".
func (d Decision) String() string { return fmtDuration(d.At) + " " + d.what() }

func fmtDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", int64(d/time.Second))
	}
	return d.String()
}

// MarshalJSON writes a decision as `switchboard routing replay --json`
// prints it: times since the start ("24s") and as instants.
func (d Decision) MarshalJSON() ([]byte, error) {
	type out struct {
		At      string `json:"at"`
		Time    string `json:"time"`
		Kind    string `json:"kind"`
		Job     string `json:"job,omitempty"`
		Worker  string `json:"worker,omitempty"`
		Offer   string `json:"offer,omitempty"`
		Expires string `json:"expires,omitempty"`
		Note    string `json:"note,omitempty"`
		Why     any    `json:"why,omitempty"`
		Step    int    `json:"step"`
	}
	o := out{At: fmtDuration(d.At), Time: d.Time.UTC().Format(time.RFC3339Nano), Kind: d.Kind, Job: d.Job, Worker: d.Worker, Offer: d.Offer, Note: d.Note, Step: d.Step}
	if d.Why != nil {
		o.Why = d.Why
		o.Expires = fmtDuration(d.Expires)
	}
	return json.Marshal(o)
}

// Format prints a decision on one line: time, kind, job, worker, offer
// and, with why, the offer's expiry, the mode, the candidates ranked with
// their scores and the excluded workers with the reasons (by id); then
// the note of other facts. The same decision always prints the same.
func Format(d Decision, why bool) string {
	var b strings.Builder
	b.WriteString(d.String())
	if d.Offer != "" {
		b.WriteString(" offer=" + d.Offer)
	}
	if why && d.Why != nil {
		e := d.Why
		fmt.Fprintf(&b, " expires=%s mode=%s candidates=[", fmtDuration(d.Expires), e.Mode)
		for i, c := range e.Candidates {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(c.Worker + ":" + strconv.FormatFloat(c.Score, 'g', 4, 64))
		}
		b.WriteByte(']')
		if more := e.CandidateCount - len(e.Candidates); more > 0 {
			fmt.Fprintf(&b, "+%d", more)
		}
		if len(e.Excluded) > 0 || e.ExcludedCount > 0 {
			b.WriteString(" excluded=[")
			for i, id := range sorted(e.Excluded) {
				if i > 0 {
					b.WriteString("; ")
				}
				b.WriteString(id + ": " + e.Excluded[id])
			}
			b.WriteByte(']')
			if more := e.ExcludedCount - len(e.Excluded); more > 0 {
				fmt.Fprintf(&b, "+%d", more)
			}
		}
	}
	if d.Note != "" {
		b.WriteString(" " + d.Note)
	}
	return b.String()
}

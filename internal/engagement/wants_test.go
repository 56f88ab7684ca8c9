package engagement

import (
	"testing"

	"github.com/switchboard-cc/switchboard/internal/routing"
)

// The router writes an offer event only when someone takes it: the contact
// center takes the offers of its own jobs, never a tenant's other traffic.
func TestWantsJobOnlyTheContactCentersJobs(t *testing.T) {
	offer := "Microsoft.Communication.RouterWorkerOfferIssued"
	cases := []struct {
		name string
		typ  string
		job  *routing.Job
		want bool
	}{
		{"engagement job by id", offer, &routing.Job{ID: "eng-0b6c3f9e-2a51-4c1b-9d55-2f1c7c2c1f00"}, true},
		{"engagement job by label", offer, &routing.Job{ID: "transfer-7", Labels: map[string]any{"engagementId": "0b6c3f9e"}}, true},
		{"another job", offer, &routing.Job{ID: "job-1", Labels: map[string]any{"channel": "chat"}}, false},
		{"an empty engagement label", offer, &routing.Job{ID: "job-1", Labels: map[string]any{"engagementId": ""}}, false},
		{"an event the center does not consume", "Microsoft.Communication.RouterJobQueued", &routing.Job{ID: "eng-x"}, false},
		{"a worker event", offer, nil, false},
	}
	for _, c := range cases {
		if got := WantsJob(c.typ, c.job); got != c.want {
			t.Errorf("%s: WantsJob = %v, want %v", c.name, got, c.want)
		}
	}
}

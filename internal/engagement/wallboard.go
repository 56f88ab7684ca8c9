package engagement

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/switchboard-cc/switchboard/internal/routing"
)

// QueueBoard is a queue's line on the supervisors' wallboard.
type QueueBoard struct {
	QueueID            string `json:"queueId"`
	Name               string `json:"name"`
	Waiting            int    `json:"waiting"`
	LongestWaitSeconds int    `json:"longestWaitSeconds"`
	// Agents counts the queue's agents by state: available (free),
	// busy (available, with conversations), away, break, offline.
	Agents map[string]int `json:"agents"`
	// Today, in the tenant's time zone: customers handed to the queue,
	// taken by an agent (within the service-level target), and gone
	// before anyone took them.
	HandedOff        int      `json:"handedOffToday"`
	Answered         int      `json:"answeredToday"`
	AnsweredInTarget int      `json:"answeredInTargetToday"`
	Abandoned        int      `json:"abandonedToday"`
	ServiceLevel     *float64 `json:"serviceLevelToday,omitempty"` // percent answered within target
	AverageRating    *float64 `json:"averageRatingToday,omitempty"`
	Ratings          int      `json:"ratingsToday"`
}

// Wallboard is the live state of every queue.
type Wallboard struct {
	Day                 string       `json:"day"`
	ServiceLevelSeconds int          `json:"serviceLevelSeconds"`
	Queues              []QueueBoard `json:"queues"`
}

// Wallboard reads the queues' live figures from the router and today's
// from the engagements.
func (s *Service) Wallboard(ctx context.Context) (Wallboard, error) {
	desk, err := s.Desk(ctx)
	if err != nil {
		return Wallboard{}, err
	}
	loc := time.UTC
	if s.Channels != nil {
		loc = s.Channels.Location(ctx)
	}
	now := s.now().In(loc)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	wb := Wallboard{Day: day.Format("2006-01-02"), ServiceLevelSeconds: desk.ServiceLevelSeconds, Queues: []QueueBoard{}}
	boards := map[string]*QueueBoard{}
	queues, err := listAll(ctx, s.Router, routing.KindQueue)
	if err != nil {
		return wb, err
	}
	for _, q := range queues {
		var doc struct{ Name string }
		_ = json.Unmarshal(q.Doc, &doc)
		b := &QueueBoard{QueueID: q.ID, Name: doc.Name, Agents: map[string]int{"available": 0, "busy": 0, "away": 0, "break": 0, "offline": 0}}
		if st, err := s.Router.QueueStatistics(ctx, q.ID); err == nil {
			b.Waiting, b.LongestWaitSeconds = st.Length, int(math.Round(st.LongestJobWaitTimeMinutes*60))
		}
		boards[q.ID] = b
	}
	workers, err := listAll(ctx, s.Router, routing.KindWorker)
	if err != nil {
		return wb, err
	}
	for _, w := range workers {
		var doc struct {
			Queues    []string `json:"queues"`
			Available bool     `json:"availableForOffers"`
			LoadRatio float64  `json:"loadRatio"`
			Presence  struct {
				Status string `json:"status"`
			} `json:"presence"`
		}
		_ = json.Unmarshal(w.Doc, &doc)
		state := doc.Presence.Status
		switch {
		case doc.Available && doc.LoadRatio > 0:
			state = "busy"
		case doc.Available:
			state = "available"
		case state == "" || state == "available":
			state = "offline"
		}
		for _, q := range doc.Queues {
			if b := boards[q]; b != nil {
				b.Agents[state]++
			}
		}
	}
	ratings := map[string]float64{}
	target := time.Duration(desk.ServiceLevelSeconds) * time.Second
	err = s.eachSince(ctx, day.UTC(), func(e Engagement) {
		b := boards[e.Queue]
		if b == nil || e.HandoffAt.IsZero() {
			return
		}
		b.HandedOff++
		switch {
		case !e.AssignedAt.IsZero():
			b.Answered++
			if e.AssignedAt.Sub(e.HandoffAt) <= target {
				b.AnsweredInTarget++
			}
		case e.State == StateEnded:
			b.Abandoned++
		}
		if e.Rating > 0 {
			b.Ratings++
			ratings[e.Queue] += float64(e.Rating)
		}
	})
	if err != nil {
		return wb, err
	}
	for id, b := range boards {
		if done := b.Answered + b.Abandoned; done > 0 {
			sl := math.Round(1000*float64(b.AnsweredInTarget)/float64(done)) / 10
			b.ServiceLevel = &sl
		}
		if b.Ratings > 0 {
			avg := math.Round(100*ratings[id]/float64(b.Ratings)) / 100
			b.AverageRating = &avg
		}
		wb.Queues = append(wb.Queues, *b)
	}
	slices.SortFunc(wb.Queues, func(a, b QueueBoard) int {
		switch {
		case a.QueueID < b.QueueID:
			return -1
		case a.QueueID > b.QueueID:
			return 1
		}
		return 0
	})
	return wb, nil
}

// lister pages through router configuration.
type lister interface {
	List(ctx context.Context, kind routing.Kind, after string, limit int) ([]routing.Entity, error)
}

func listAll(ctx context.Context, r lister, kind routing.Kind) ([]routing.Entity, error) {
	var out []routing.Entity
	after := ""
	for {
		page, err := r.List(ctx, kind, after, 500)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < 500 {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

// eachSince calls fn for every engagement created since.
func (s *Service) eachSince(ctx context.Context, since time.Time, fn func(Engagement)) error {
	after := ""
	for {
		page, err := s.Engagements(ctx, Filter{Since: since}, after, 500)
		if err != nil {
			return err
		}
		for _, e := range page {
			fn(e)
		}
		if len(page) < 500 {
			return nil
		}
		last := page[len(page)-1]
		after = Cursor(last)
	}
}

// Cursor is the list position after e (lists run newest first).
func Cursor(e Engagement) string {
	return itoa64(e.CreatedAt.UnixMicro()) + "|" + string(e.ID)
}

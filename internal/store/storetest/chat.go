package storetest

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/store"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

func newThread(t *testing.T, s *store.Store, tn tenant.ID, members ...string) conversation.Thread {
	t.Helper()
	at := now()
	th := conversation.Thread{Tenant: tn, ID: conversation.NewThreadID(), Topic: "t", CreatedBy: members[0], CreatedAt: at, Version: at.UnixMilli()}
	var ps []conversation.Participant
	for _, m := range members {
		ps = append(ps, conversation.Participant{ID: m, AddedAt: at})
	}
	must(t, s.InTx(context.Background(), func(ctx context.Context) error { return s.CreateThread(ctx, th, ps) }))
	return th
}

// sendAs stores one message the way the chat service does: a sequence
// number and id from the thread row, then the message, in one transaction.
func sendAs(s *store.Store, th conversation.Thread, sender, text string) (conversation.Message, error) {
	var m conversation.Message
	err := s.InTx(context.Background(), func(ctx context.Context) error {
		at := time.Now().UTC()
		seq, id, err := s.NextMessage(ctx, th.Tenant, th.ID, sender, at)
		if err != nil {
			return err
		}
		m = conversation.Message{Tenant: th.Tenant, Thread: th.ID, ID: strconv.FormatInt(id, 10), Seq: seq, Type: "text", Sender: sender,
			Content: conversation.Content{Message: text}, CreatedAt: at, Version: id}
		return s.InsertMessage(ctx, m)
	})
	return m, err
}

// testChatMessagesConcurrent: concurrent senders in one thread get unique,
// gap-free sequence numbers and ids in the same order, on either engine.
func testChatMessagesConcurrent(t *testing.T, s *store.Store) {
	tn := newTenant(t, s, "chat-concurrent").ID
	th := newThread(t, s, tn, "8:acs:a", "8:acs:b")
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errc := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if _, err := sendAs(s, th, []string{"8:acs:a", "8:acs:b"}[w%2], fmt.Sprintf("%d-%d", w, i)); err != nil {
					errc <- err
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	var all []conversation.Message
	q := conversation.MessageQuery{Limit: 30}
	for {
		page, err := s.Messages(context.Background(), tn, th.ID, q)
		must(t, err)
		all = append(all, page...)
		if len(page) < q.Limit {
			break
		}
		q.BeforeID = page[len(page)-1].ID
	}
	if len(all) != workers*each {
		t.Fatalf("paged through %d messages, want %d", len(all), workers*each)
	}
	// Newest first: sequence numbers count down without gaps, ids with them.
	for i, m := range all {
		if want := int64(workers*each - i); m.Seq != want {
			t.Fatalf("message %d has sequence %d, want %d", i, m.Seq, want)
		}
		if i > 0 && !(m.ID < all[i-1].ID) {
			t.Fatalf("ids out of order: %s after %s", m.ID, all[i-1].ID)
		}
	}
	// A non-participant cannot take a sequence number.
	_, err := sendAs(s, th, "8:acs:stranger", "x")
	wantKind(t, err, errs.KindNotFound, "a stranger's send")
}

// testChatErasureAndPurge: erasing a participant removes exactly its
// messages, receipts and files; purging a thread removes the thread.
func testChatErasureAndPurge(t *testing.T, s *store.Store) {
	ctx := context.Background()
	tn := newTenant(t, s, "chat-erase").ID
	other := newTenant(t, s, "chat-erase-other").ID
	th := newThread(t, s, tn, "8:acs:v", "8:acs:agent")
	oth := newThread(t, s, other, "8:acs:v", "8:acs:agent") // same raw ids in another tenant
	for _, x := range []struct {
		th     conversation.Thread
		sender string
	}{{th, "8:acs:v"}, {th, "8:acs:agent"}, {oth, "8:acs:v"}} {
		_, err := sendAs(s, x.th, x.sender, "hi")
		must(t, err)
	}
	// A system message naming both: the visitor goes from it, the agent stays.
	must(t, s.InTx(ctx, func(ctx context.Context) error {
		seq, id, err := s.NextMessage(ctx, tn, th.ID, "", time.Now())
		if err != nil {
			return err
		}
		return s.InsertMessage(ctx, conversation.Message{Tenant: tn, Thread: th.ID, ID: strconv.FormatInt(id, 10), Seq: seq, Type: conversation.TypeParticipantAdded,
			Content:   conversation.Content{Initiator: "8:acs:v", Participants: []conversation.Participant{{ID: "8:acs:v", DisplayName: "Visitor Name"}, {ID: "8:acs:agent", DisplayName: "Agent"}}},
			CreatedAt: time.Now().UTC(), Version: id})
	}))
	must(t, s.CreateFile(ctx, conversation.File{Tenant: tn, ID: "f0000001", Thread: th.ID, Uploader: "8:acs:v", Name: "a.png", ContentType: "image/png", Size: 1, CreatedAt: now()}))
	keys, err := s.EraseParticipant(ctx, tn, "8:acs:v")
	must(t, err)
	if len(keys) != 1 || keys[0] != conversation.BlobKey(tn, "f0000001") {
		t.Fatalf("erasure returned file keys %v", keys)
	}
	left, err := s.Messages(ctx, tn, th.ID, conversation.MessageQuery{Limit: 10})
	must(t, err)
	if len(left) != 2 || left[1].Sender != "8:acs:agent" {
		t.Fatalf("after erasure the thread holds %+v", left)
	}
	if sys := left[0]; len(sys.Content.Participants) != 1 || sys.Content.Participants[0].ID != "8:acs:agent" || sys.Content.Initiator != "" {
		t.Fatalf("the system message still names the erased participant: %+v", sys.Content)
	}
	kept, err := s.Messages(ctx, other, oth.ID, conversation.MessageQuery{Limit: 10})
	must(t, err)
	if len(kept) != 1 {
		t.Fatal("erasure reached another tenant")
	}
	keys, n, err := s.PurgeThread(ctx, tn, th.ID)
	must(t, err)
	if n != 2 || len(keys) != 0 {
		t.Fatalf("purge removed %d messages, %v files", n, keys)
	}
	_, err = s.Thread(ctx, tn, th.ID)
	wantKind(t, err, errs.KindNotFound, "a purged thread")
	ids, err := s.ParticipantIDs(ctx, tn, th.ID)
	must(t, err)
	sort.Strings(ids)
	if len(ids) != 0 {
		t.Fatalf("a purged thread keeps participants %v", ids)
	}
}

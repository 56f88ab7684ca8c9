package journal

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"testing"
)

func records(t *testing.T, l *Log, seg uint64) ([][]byte, bool) {
	t.Helper()
	var out [][]byte
	torn, err := l.ReadSegment(seg, func(r []byte) error {
		out = append(out, bytes.Clone(r))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, torn
}

func TestAppendRotateReadRemove(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append([]byte("one"), []byte(""), []byte("two")); err != nil {
		t.Fatal(err)
	}
	sealed, err := l.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append([]byte("three")); err != nil {
		t.Fatal(err)
	}
	got, torn := records(t, l, sealed)
	if torn || !slices.EqualFunc(got, [][]byte{[]byte("one"), {}, []byte("two")}, bytes.Equal) {
		t.Fatalf("sealed segment: %q torn=%v", got, torn)
	}
	got, _ = records(t, l, l.Current())
	if len(got) != 1 || string(got[0]) != "three" {
		t.Fatalf("current segment: %q", got)
	}
	if err := l.Remove(sealed); err != nil {
		t.Fatal(err)
	}
	segs, _ := l.Segments()
	if !slices.Equal(segs, []uint64{l.Current()}) {
		t.Fatalf("after remove: %v, current %d", segs, l.Current())
	}
	// Remove never takes the segment being written.
	if err := l.Remove(l.Current() + 10); err != nil {
		t.Fatal(err)
	}
	if segs, _ := l.Segments(); len(segs) != 1 {
		t.Fatalf("the current segment was removed: %v", segs)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Append([]byte("x")); err == nil {
		t.Fatal("append after close succeeded")
	}
}

// Reopened, the journal leaves what is there for its owner and writes after it.
func TestReopenWritesAfterExistingSegments(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir)
	_ = l.Append([]byte("before"))
	first := l.Current()
	l.Close()
	l2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if l2.Current() <= first {
		t.Fatalf("reopened at segment %d, not after %d", l2.Current(), first)
	}
	got, _ := records(t, l2, first)
	if len(got) != 1 || string(got[0]) != "before" {
		t.Fatalf("old segment: %q", got)
	}
}

// A record cut anywhere (a process killed in the middle of a write) ends
// the segment: the records before it are read, the rest is reported torn.
func TestTornTailEndsTheSegment(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir)
	_ = l.Append([]byte("kept-1"), []byte("kept-2"))
	_ = l.Append([]byte("the last record, cut"))
	seg := l.Current()
	l.Close()
	path := l.path(seg)
	whole, _ := os.ReadFile(path)
	lastStart := 2*headerSize + len("kept-1") + len("kept-2")
	for cut := lastStart; cut < len(whole); cut++ {
		if err := os.WriteFile(path, whole[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		got, torn := records(t, l, seg)
		if len(got) != 2 || string(got[1]) != "kept-2" {
			t.Fatalf("cut at %d: read %q", cut, got)
		}
		if torn != (cut > lastStart) {
			t.Fatalf("cut at %d: torn=%v", cut, torn)
		}
	}
}

func TestDamagedRecordEndsTheSegment(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir)
	_ = l.Append([]byte("good"), []byte("flipped"), []byte("after"))
	seg := l.Current()
	l.Close()
	path := l.path(seg)
	data, _ := os.ReadFile(path)
	data[2*headerSize+len("good")+1] ^= 0x40
	_ = os.WriteFile(path, data, 0o600)
	got, torn := records(t, l, seg)
	if !torn || len(got) != 1 || string(got[0]) != "good" {
		t.Fatalf("read %q torn=%v", got, torn)
	}
	// A length beyond the limit is damage too, not an allocation.
	data, _ = os.ReadFile(path)
	data[0], data[1], data[2], data[3] = 0xff, 0xff, 0xff, 0x7f
	_ = os.WriteFile(path, data, 0o600)
	if got, torn := records(t, l, seg); !torn || len(got) != 0 {
		t.Fatalf("oversized length: read %q torn=%v", got, torn)
	}
}

func TestReadStopsAtTheCallersError(t *testing.T) {
	l, _ := Open(t.TempDir())
	defer l.Close()
	_ = l.Append([]byte("a"), []byte("b"))
	stop := errors.New("stop")
	n := 0
	_, err := l.ReadSegment(l.Current(), func([]byte) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err=%v after %d records", err, n)
	}
}

func TestRecordTooLarge(t *testing.T) {
	l, _ := Open(t.TempDir())
	defer l.Close()
	if err := l.Append(make([]byte, MaxRecord+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if got, _ := records(t, l, l.Current()); len(got) != 0 {
		t.Fatalf("an oversized batch wrote %d records", len(got))
	}
}

func BenchmarkAppend(b *testing.B) {
	l, _ := Open(b.TempDir())
	defer l.Close()
	rec := bytes.Repeat([]byte("x"), 600)
	batch := make([][]byte, 16)
	for i := range batch {
		batch[i] = rec
	}
	b.SetBytes(int64(len(rec) * len(batch)))
	for i := 0; b.Loop(); i++ {
		if err := l.Append(batch...); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			if _, err := l.Rotate(); err != nil {
				b.Fatal(err)
			}
			_ = l.Remove(l.Current() - 1)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "records/s")
}

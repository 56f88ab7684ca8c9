// Package journal is an append-only log of records kept in numbered segment
// files. It is the first durable home of changes that are too frequent to
// commit to the database one by one: a writer appends them (one write call
// per batch), and a checkpointer later stores their net effect in the
// database, seals the segment and removes it.
//
// A record is durable once Append returns: the bytes are in the operating
// system's cache, so they survive the process being killed, as a commit to
// SQLite in WAL mode with synchronous=NORMAL does (neither survives the
// machine losing power before the cache is written out, unless Sync is
// set).
package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// MaxRecord bounds one record, so that a corrupt length cannot make a
// reader allocate without limit.
const MaxRecord = 64 << 20

const (
	headerSize = 8 // length (4 bytes) and CRC-32C of the payload (4 bytes)
	suffix     = ".log"
)

// ErrTooLarge is returned for a record over MaxRecord.
var ErrTooLarge = errors.New("journal: record too large")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Log is a journal directory. It is safe for concurrent use.
type Log struct {
	dir string
	// Sync makes every Append wait until the bytes reach the disk.
	Sync bool

	mu  sync.Mutex
	f   *os.File
	seg uint64
	buf []byte
}

// Open opens the journal in dir, creating it if needed. Appends go to a new
// segment after every existing one; existing segments are left for the
// owner to read (ReadSegment) and remove once their records are stored.
func Open(dir string) (*Log, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	l := &Log{dir: dir}
	segs, err := l.Segments()
	if err != nil {
		return nil, err
	}
	if len(segs) > 0 {
		l.seg = segs[len(segs)-1]
	}
	if err := l.next(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Log) path(seg uint64) string {
	return filepath.Join(l.dir, fmt.Sprintf("%016x%s", seg, suffix))
}

// next starts the segment after the current one (under mu).
func (l *Log) next() error {
	f, err := os.OpenFile(l.path(l.seg+1), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("journal: new segment: %w", err)
	}
	if l.f != nil {
		if err := l.f.Close(); err != nil {
			f.Close()
			return fmt.Errorf("journal: seal segment: %w", err)
		}
	}
	l.f = f
	l.seg++
	return nil
}

// Append writes records, in order, with one write call.
func (l *Log) Append(records ...[]byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return fmt.Errorf("journal: closed")
	}
	b := l.buf[:0]
	for _, r := range records {
		if len(r) > MaxRecord {
			return ErrTooLarge
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(len(r)))
		b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(r, castagnoli))
		b = append(b, r...)
	}
	// A buffer grown by one huge batch is not kept for every later one.
	if cap(b) <= 1<<20 {
		l.buf = b
	}
	if _, err := l.f.Write(b); err != nil {
		return fmt.Errorf("journal: append: %w", err)
	}
	if l.Sync {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("journal: sync: %w", err)
		}
	}
	return nil
}

// Rotate seals the current segment and starts the next; it returns the
// sealed segment's number. Records appended before Rotate are in segments
// up to that number, records appended after it in later ones.
func (l *Log) Rotate() (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, fmt.Errorf("journal: closed")
	}
	sealed := l.seg
	if err := l.next(); err != nil {
		return 0, err
	}
	return sealed, nil
}

// Current is the number of the segment appends go to.
func (l *Log) Current() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seg
}

// Segments lists the segment numbers on disk, in order.
func (l *Log) Segments() ([]uint64, error) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var segs []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), suffix)
		if !ok || e.IsDir() {
			continue
		}
		n, err := strconv.ParseUint(name, 16, 64)
		if err != nil {
			continue
		}
		segs = append(segs, n)
	}
	slices.Sort(segs)
	return segs, nil
}

// ReadSegment calls fn with each record of a segment, in order. A segment
// ends at its first incomplete or damaged record: a process killed in the
// middle of a write leaves one at the end of the segment it was writing,
// and that write was never acknowledged. torn reports whether bytes were
// left unread.
func (l *Log) ReadSegment(seg uint64, fn func(record []byte) error) (torn bool, err error) {
	f, err := os.Open(l.path(seg))
	if err != nil {
		return false, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return false, fmt.Errorf("journal: read segment %d: %w", seg, err)
	}
	for len(data) > 0 {
		if len(data) < headerSize {
			return true, nil
		}
		n := binary.LittleEndian.Uint32(data)
		sum := binary.LittleEndian.Uint32(data[4:])
		if n > MaxRecord || uint64(len(data)-headerSize) < uint64(n) {
			return true, nil
		}
		rec := data[headerSize : headerSize+n]
		if crc32.Checksum(rec, castagnoli) != sum {
			return true, nil
		}
		if err := fn(rec); err != nil {
			return false, err
		}
		data = data[headerSize+n:]
	}
	return false, nil
}

// Remove deletes the sealed segments numbered up to upTo (never the one
// being written).
func (l *Log) Remove(upTo uint64) error {
	segs, err := l.Segments()
	if err != nil {
		return err
	}
	cur := l.Current()
	for _, s := range segs {
		if s > upTo || s >= cur {
			break
		}
		if err := os.Remove(l.path(s)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("journal: remove segment: %w", err)
		}
	}
	return nil
}

// Close closes the segment being written.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

package scenario

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// FileRecorder writes each tenant's router input as a JSON Lines stream
// (DIR/<tenant>-<start>.jsonl) that `switchboard routing replay` reads: a
// first line with the configuration the router loaded, then one step per
// line, its time relative to the start. A new file starts whenever the
// router (re)loads.
type FileRecorder struct {
	dir string

	mu    sync.Mutex
	files map[tenant.ID]*recording
}

type recording struct {
	f     *os.File
	start time.Time
}

// NewFileRecorder records into dir (created if missing).
func NewFileRecorder(dir string) (*FileRecorder, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("routing record: %w", err)
	}
	return &FileRecorder{dir: dir, files: map[tenant.ID]*recording{}}, nil
}

// Start opens a tenant's new recording.
func (r *FileRecorder) Start(t tenant.ID, at time.Time, config map[string]map[string]map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.files[t]; old != nil {
		_ = old.f.Close()
	}
	name := filepath.Join(r.dir, fmt.Sprintf("%s-%s.jsonl", t, at.UTC().Format("20060102T150405.000000000")))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		delete(r.files, t)
		return
	}
	r.files[t] = &recording{f: f, start: at}
	r.write(r.files[t], map[string]any{"name": fmt.Sprintf("tenant %s from %s", t, at.UTC().Format(time.RFC3339)), "config": config})
}

// Step appends an input to the tenant's recording.
func (r *FileRecorder) Step(t tenant.ID, at time.Time, step map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.files[t]
	if rec == nil {
		return
	}
	line := make(map[string]any, len(step)+1)
	for k, v := range step {
		line[k] = v
	}
	line["at"] = at.Sub(rec.start).String()
	r.write(rec, line)
}

func (r *FileRecorder) write(rec *recording, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		return
	}
	_, _ = rec.f.Write(append(raw, '\n'))
}

// Close ends every recording.
func (r *FileRecorder) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for t, rec := range r.files {
		_ = rec.f.Close()
		delete(r.files, t)
	}
}

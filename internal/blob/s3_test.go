package blob_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/blob"
	"github.com/switchboard-cc/switchboard/internal/blob/blobtest"
	"github.com/switchboard-cc/switchboard/internal/errs"
)

func TestS3(t *testing.T) {
	ctx := context.Background()
	s3, err := blob.NewS3(ctx, blobtest.FakeS3(t, "files"))
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("switchboard"), 1000)
	n, err := s3.Put(ctx, "t1/ab/abcdef", bytes.NewReader(data), int64(len(data)))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("put: %d %v", n, err)
	}
	if _, err := s3.Put(ctx, "t1/ab/big", bytes.NewReader(data), int64(len(data)-1)); errs.KindOf(err) != errs.KindTooLarge {
		t.Fatalf("over the limit: %v", err)
	}
	if _, err := s3.Open(ctx, "t1/ab/big"); errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("a refused upload left an object: %v", err)
	}
	r, err := s3.Open(ctx, "t1/ab/abcdef")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Seek(11, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, data[11:]) {
		t.Fatal("read back differs")
	}
	if err := s3.Delete(ctx, "t1/ab/abcdef"); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Open(ctx, "t1/ab/abcdef"); errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("after delete: %v", err)
	}
	if err := s3.Delete(ctx, "t1/ab/abcdef"); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	if _, err := blob.NewS3(ctx, blob.S3Config{Endpoint: blobtest.FakeS3(t, "other").Endpoint, Bucket: "missing", Insecure: true, AccessKey: "a", SecretKey: "bbbbbbbb"}); err == nil {
		t.Fatal("a missing bucket was accepted")
	}
}

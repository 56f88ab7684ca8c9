// Package blobtest serves the S3 protocol from memory on loopback, so the
// S3 store is tested over real HTTP without an S3 server.
package blobtest

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/switchboard-cc/switchboard/internal/blob"
)

// FakeS3 starts a fake S3 with bucket and returns a configuration for it.
func FakeS3(t testing.TB, bucket string) blob.S3Config {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return blob.S3Config{Endpoint: strings.TrimPrefix(srv.URL, "http://"), Bucket: bucket, AccessKey: "test", SecretKey: "testtesttest",
		Region: "us-east-1", Insecure: true, Prefix: "switchboard/", SpoolDir: t.TempDir()}
}

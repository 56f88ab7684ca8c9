package blob

import (
	"context"

	"fmt"
	"io"
	"os"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/switchboard-cc/switchboard/internal/errs"
)

// S3Config points at an S3-compatible bucket (AWS S3, MinIO, Ceph, R2…).
type S3Config struct {
	Endpoint  string // host[:port]
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string
	Insecure  bool   // plain HTTP, for a store on a private network
	Prefix    string // key prefix inside the bucket
	SpoolDir  string // where uploads wait before they go up
}

// S3 stores blobs in an S3-compatible bucket.
type S3 struct {
	c   *minio.Client
	cfg S3Config
}

// NewS3 connects to the bucket and checks that it exists.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Secure: !cfg.Insecure, Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: s3: %w", err)
	}
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob: s3 bucket %s: %w", cfg.Bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("blob: s3 bucket %s does not exist", cfg.Bucket)
	}
	if cfg.SpoolDir != "" {
		if err := os.MkdirAll(cfg.SpoolDir, 0o700); err != nil {
			return nil, err
		}
	}
	return &S3{c: c, cfg: cfg}, nil
}

func (s *S3) key(k string) string { return s.cfg.Prefix + k }

// Put spools r to a temporary file (so its size is known and the limit
// checked before anything is sent), then uploads it.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, max int64) (int64, error) {
	tmp, err := os.CreateTemp(s.cfg.SpoolDir, ".upload-*")
	if err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := io.Copy(tmp, io.LimitReader(r, max+1))
	if err != nil {
		return 0, err
	}
	if n > max {
		return 0, ErrTooLarge
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	if _, err := s.c.PutObject(ctx, s.cfg.Bucket, s.key(key), tmp, n, minio.PutObjectOptions{ContentType: "application/octet-stream"}); err != nil {
		return 0, fmt.Errorf("blob: s3 put: %w", err)
	}
	return n, nil
}

// Open reads the blob under key.
func (s *S3) Open(ctx context.Context, key string) (io.ReadSeekCloser, error) {
	if _, err := s.c.StatObject(ctx, s.cfg.Bucket, s.key(key), minio.StatObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil, errs.NotFound("file not found")
		}
		return nil, fmt.Errorf("blob: s3 stat: %w", err)
	}
	obj, err := s.c.GetObject(ctx, s.cfg.Bucket, s.key(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("blob: s3 get: %w", err)
	}
	return obj, nil
}

// Delete removes the blob; a missing one is not an error.
func (s *S3) Delete(ctx context.Context, key string) error {
	err := s.c.RemoveObject(ctx, s.cfg.Bucket, s.key(key), minio.RemoveObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code != "NoSuchKey" {
		return fmt.Errorf("blob: s3 delete: %w", err)
	}
	return nil
}

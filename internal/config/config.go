// Package config is Switchboard's one typed configuration: defaults, the
// SWITCHBOARD_* environment variables and flags (through kong tags), and
// validation. Secrets are redacted whenever the configuration is printed.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Config is every setting of a Switchboard node.
type Config struct {
	DataDir           string        `name:"data" env:"SWITCHBOARD_DATA" default:"./data" help:"Data directory: SQLite file, embedded NATS store, TLS files, master key."`
	HTTPAddr          string        `name:"http-addr" env:"SWITCHBOARD_HTTP_ADDR" default:"127.0.0.1:8080" help:"Plain HTTP listener (localhost and reverse-proxy use); empty disables it."`
	HTTPSAddr         string        `name:"https-addr" env:"SWITCHBOARD_HTTPS_ADDR" default:":8443" help:"HTTPS listener, what the ACS SDKs talk to; empty disables it."`
	PublicURL         string        `name:"public-url" env:"SWITCHBOARD_PUBLIC_URL" help:"Base URL put in connection strings (default: https://localhost:<https port>/)."`
	TLSCert           string        `name:"tls-cert" env:"SWITCHBOARD_TLS_CERT" help:"PEM certificate replacing the generated one."`
	TLSKey            string        `name:"tls-key" env:"SWITCHBOARD_TLS_KEY" help:"PEM private key for --tls-cert."`
	TLSHosts          []string      `name:"tls-hosts" env:"SWITCHBOARD_TLS_HOSTS" help:"Extra host names or IPs for the generated certificate."`
	Database          string        `name:"database" env:"SWITCHBOARD_DATABASE" help:"postgres://… URL for scale-out; empty uses the SQLite file in the data directory." secret:""`
	NATS              string        `name:"nats" env:"SWITCHBOARD_NATS" help:"nats://… URL of an external NATS with JetStream; empty runs NATS in-process."`
	NATSNamespace     string        `name:"nats-namespace" env:"SWITCHBOARD_NATS_NAMESPACE" default:"sb" help:"Prefix of every NATS stream, subject and consumer, so several clusters can share one NATS (empty means sb)."`
	NATSReplicas      int           `name:"nats-replicas" env:"SWITCHBOARD_NATS_REPLICAS" default:"1" help:"Stream replicas on an external NATS cluster."`
	MasterKey         string        `name:"master-key" env:"SWITCHBOARD_MASTER_KEY" help:"Base64 32-byte key sealing secrets at rest (default: DATA/master.key, created on first start)." secret:""`
	MasterKeyFile     string        `name:"master-key-file" env:"SWITCHBOARD_MASTER_KEY_FILE" help:"File holding the master key (default DATA/master.key)."`
	LogFormat         string        `name:"log-format" env:"SWITCHBOARD_LOG_FORMAT" default:"text" enum:"text,json" help:"Log format: text or json."`
	LogLevel          string        `name:"log-level" env:"SWITCHBOARD_LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Log level."`
	Outbound          Outbound      `embed:"" prefix:"outbound-"`
	API               API           `embed:"" prefix:"api-"`
	Webhooks          Webhooks      `embed:"" prefix:"webhook-"`
	Realtime          Realtime      `embed:"" prefix:"realtime-"`
	Files             Files         `embed:"" prefix:"files-"`
	RoutingRecord     string        `name:"routing-record" env:"SWITCHBOARD_ROUTING_RECORD" help:"Directory to record every tenant's router input in, for switchboard routing replay (off when empty)."`
	RetentionInterval time.Duration `name:"retention-interval" env:"SWITCHBOARD_RETENTION_INTERVAL" default:"1h" help:"How often expired conversations are purged under the tenants' retention policies."`
	GCPercent         int           `name:"gc-percent" env:"SWITCHBOARD_GC_PERCENT" default:"200" help:"Go GC target (GOGC). Switchboard's live heap is small, so collecting less often buys throughput for little memory; 0 leaves the runtime default."`
	ShutdownGrace     time.Duration `name:"shutdown-grace" env:"SWITCHBOARD_SHUTDOWN_GRACE" default:"20s" help:"How long in-flight work may take to finish on shutdown."`
}

// Outbound limits requests to tenant-supplied URLs.
type Outbound struct {
	AllowLoopback bool `name:"allow-loopback" env:"SWITCHBOARD_OUTBOUND_ALLOW_LOOPBACK" help:"Let webhooks and bots reach loopback addresses (development only)."`
	AllowPrivate  bool `name:"allow-private" env:"SWITCHBOARD_OUTBOUND_ALLOW_PRIVATE" help:"Let webhooks and bots reach private and link-local addresses."`
}

// API holds request limits.
type API struct {
	MaxBodyBytes int64         `name:"max-body-bytes" env:"SWITCHBOARD_API_MAX_BODY_BYTES" default:"1048576" help:"Largest request body accepted."`
	TenantRate   float64       `name:"tenant-rate" env:"SWITCHBOARD_API_TENANT_RATE" default:"2000" help:"Requests per second allowed per tenant (burst equal)."`
	ClockSkew    time.Duration `name:"clock-skew" env:"SWITCHBOARD_API_CLOCK_SKEW" default:"15m" help:"Largest accepted difference between a signed request's date and the server clock."`
	SessionTTL   time.Duration `name:"session-ttl" env:"SWITCHBOARD_API_SESSION_TTL" default:"12h" help:"How long a login session lasts."`
}

// Webhooks tunes event delivery.
type Webhooks struct {
	RetryBase time.Duration `name:"retry-base" env:"SWITCHBOARD_WEBHOOK_RETRY_BASE" default:"5s" help:"First retry delay of a failed delivery; doubles each attempt."`
	RetryMax  time.Duration `name:"retry-max" env:"SWITCHBOARD_WEBHOOK_RETRY_MAX" default:"30m" help:"Longest retry delay."`
}

// Files says where chat attachments are kept: the data directory, or an
// S3-compatible bucket when an endpoint is set.
type Files struct {
	S3Endpoint  string `name:"s3-endpoint" env:"SWITCHBOARD_FILES_S3_ENDPOINT" help:"host[:port] of an S3-compatible store for attachments (default: DATA/files)."`
	S3Bucket    string `name:"s3-bucket" env:"SWITCHBOARD_FILES_S3_BUCKET" help:"Bucket for attachments (must exist)."`
	S3Region    string `name:"s3-region" env:"SWITCHBOARD_FILES_S3_REGION" help:"Region of the bucket."`
	S3AccessKey string `name:"s3-access-key" env:"SWITCHBOARD_FILES_S3_ACCESS_KEY" help:"Access key id." secret:""`
	S3SecretKey string `name:"s3-secret-key" env:"SWITCHBOARD_FILES_S3_SECRET_KEY" help:"Secret access key." secret:""`
	S3Prefix    string `name:"s3-prefix" env:"SWITCHBOARD_FILES_S3_PREFIX" help:"Key prefix inside the bucket."`
	S3Insecure  bool   `name:"s3-insecure" env:"SWITCHBOARD_FILES_S3_INSECURE" help:"Talk plain HTTP to the store (private networks only)."`
}

// Realtime tunes the WebSocket channel.
type Realtime struct {
	Heartbeat    time.Duration `name:"heartbeat" env:"SWITCHBOARD_REALTIME_HEARTBEAT" default:"25s" help:"Idle interval after which the server pings a real-time client."`
	QueueLength  int           `name:"queue-length" env:"SWITCHBOARD_REALTIME_QUEUE_LENGTH" default:"128" help:"Events a real-time client may have waiting before it is disconnected as a slow consumer."`
	HelloTimeout time.Duration `name:"hello-timeout" env:"SWITCHBOARD_REALTIME_HELLO_TIMEOUT" default:"10s" help:"How long a new real-time connection may take to authenticate."`
}

// natsNamespace is the rule bus.ValidateNamespace applies (config does not
// import bus).
var natsNamespace = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)

// Validate checks the configuration as a whole.
func (c *Config) Validate() error {
	var problems []error
	if c.DataDir == "" {
		problems = append(problems, errors.New("--data must not be empty"))
	}
	if c.Files.S3Endpoint != "" && c.Files.S3Bucket == "" {
		problems = append(problems, errors.New("--files-s3-bucket is required with --files-s3-endpoint"))
	}
	if c.HTTPAddr == "" && c.HTTPSAddr == "" {
		problems = append(problems, errors.New("at least one of --http-addr and --https-addr must be set"))
	}
	for name, addr := range map[string]string{"--http-addr": c.HTTPAddr, "--https-addr": c.HTTPSAddr} {
		if addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			problems = append(problems, fmt.Errorf("%s %q: %w", name, addr, err))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		problems = append(problems, errors.New("--tls-cert and --tls-key go together"))
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		problems = append(problems, errors.New("--database must be a postgres:// URL (or empty for SQLite)"))
	}
	if c.NATS != "" {
		for u := range strings.SplitSeq(c.NATS, ",") {
			if pu, err := url.Parse(strings.TrimSpace(u)); err != nil || (pu.Scheme != "nats" && pu.Scheme != "tls") {
				problems = append(problems, fmt.Errorf("--nats %q must be nats:// or tls:// URLs", redactURL(u)))
			}
		}
	}
	if c.PublicURL != "" {
		if pu, err := url.Parse(c.PublicURL); err != nil || pu.Scheme != "https" || pu.Host == "" {
			problems = append(problems, errors.New("--public-url must be an absolute https URL"))
		}
	}
	if c.API.MaxBodyBytes < 1024 {
		problems = append(problems, errors.New("--api-max-body-bytes must be at least 1024"))
	}
	if c.API.TenantRate <= 0 {
		problems = append(problems, errors.New("--api-tenant-rate must be positive"))
	}
	if c.API.SessionTTL < time.Minute {
		problems = append(problems, errors.New("--api-session-ttl must be at least 1m"))
	}
	if c.Webhooks.RetryBase <= 0 || c.Webhooks.RetryMax < c.Webhooks.RetryBase {
		problems = append(problems, errors.New("--webhook-retry-base must be positive and not above --webhook-retry-max"))
	}
	if c.NATSNamespace != "" && !natsNamespace.MatchString(c.NATSNamespace) {
		problems = append(problems, fmt.Errorf("--nats-namespace %q must be 1-32 letters, digits, '_' or '-', starting with a letter or digit", c.NATSNamespace))
	}
	if c.GCPercent < 0 {
		problems = append(problems, errors.New("--gc-percent must not be negative"))
	}
	if c.NATSReplicas < 1 || c.NATSReplicas > 5 {
		problems = append(problems, errors.New("--nats-replicas must be between 1 and 5"))
	}
	return errors.Join(problems...)
}

// MasterKeyPath is where the master key file lives.
func (c *Config) MasterKeyPath() string {
	if c.MasterKeyFile != "" {
		return c.MasterKeyFile
	}
	return filepath.Join(c.DataDir, "master.key")
}

// Redacted returns printable key=value lines with secrets hidden.
func (c *Config) Redacted() []string {
	secretOrEmpty := func(s string) string {
		if s == "" {
			return ""
		}
		return "[redacted]"
	}
	return []string{
		"data=" + c.DataDir,
		"http-addr=" + c.HTTPAddr,
		"https-addr=" + c.HTTPSAddr,
		"public-url=" + c.PublicURL,
		"tls-cert=" + c.TLSCert,
		"database=" + redactURL(c.Database),
		"nats=" + redactURL(c.NATS),
		"nats-namespace=" + cmp.Or(c.NATSNamespace, "sb"),
		"master-key=" + secretOrEmpty(c.MasterKey),
		"master-key-file=" + c.MasterKeyPath(),
		"log=" + c.LogFormat + "/" + c.LogLevel,
		fmt.Sprintf("outbound-allow-loopback=%v outbound-allow-private=%v", c.Outbound.AllowLoopback, c.Outbound.AllowPrivate),
		fmt.Sprintf("api-max-body-bytes=%d api-tenant-rate=%g api-clock-skew=%s api-session-ttl=%s", c.API.MaxBodyBytes, c.API.TenantRate, c.API.ClockSkew, c.API.SessionTTL),
		fmt.Sprintf("webhook-retry-base=%s webhook-retry-max=%s", c.Webhooks.RetryBase, c.Webhooks.RetryMax),
	}
}

// redactURL hides a password inside a URL.
func redactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "[unparseable, redacted]"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	return u.String()
}

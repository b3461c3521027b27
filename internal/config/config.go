// Package config reads wagate's configuration from flags and WAGATE_*
// environment variables (flags win) into a plain struct. No globals.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// Engines wagate can run channels on.
const (
	EngineWhatsmeow = "whatsmeow"
	EngineSim       = "sim"
)

// Config is everything the server needs to start.
type Config struct {
	Addr        string // listen address
	DataDir     string // SQLite file and media live here
	DatabaseURL string // postgres://...; empty means SQLite in DataDir
	AdminToken  string // operator token; empty: generated on first start
	PublicURL   string // base URL channels report as apiUrl
	Engine      string // whatsmeow or sim
	// WAVersion pins the WhatsApp Web version the whatsmeow engine
	// announces (x.y.z); empty: the engine learns the current one from
	// WhatsApp. WhatsApp refuses versions that are too old (405 "client
	// outdated").
	WAVersion string
	// DeviceName is how linked channels appear in the phone's "Linked
	// devices" list (whatsmeow engine).
	DeviceName string
	// MediaAllowPrivate lets media URLs point to private, loopback and
	// link-local addresses (refused by default: a client could otherwise
	// make the server fetch from its internal network).
	MediaAllowPrivate bool
	// WebhookAllowPrivate lets webhook URLs point to private, loopback and
	// link-local addresses.
	WebhookAllowPrivate bool
	// ProxyAllowPrivate lets partners and channels set proxies at private,
	// loopback and link-local addresses (the operator's pool may always).
	ProxyAllowPrivate bool
	LogLevel          slog.Level
	LogFormat         string // text or json
	// ExpiryInterval is how often channels whose days ran out are stopped.
	ExpiryInterval time.Duration
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration
	// SessionLifetime is how long a dashboard login lasts; zero means the
	// dashboard's default (12h).
	SessionLifetime time.Duration
	// CookieSecure marks dashboard cookies Secure on plain-HTTP requests too
	// (behind a TLS-terminating proxy); TLS requests always get Secure ones.
	CookieSecure bool
	// SentRetention is how long the encoded form of every sent message is
	// kept to answer recipients' retry requests (WhatsApp's "waiting for
	// this message").
	SentRetention time.Duration
	// NodeID names this node in cluster mode (PostgreSQL); empty: derived
	// from the host name and the listen port.
	NodeID string
	// InternalURL is where the other nodes reach this one (cluster mode);
	// empty: derived from the listen address.
	InternalURL string
	// MediaStore is where media files are kept: "dir" (the data dir's
	// media folder), "database" (in the database: what a cluster's nodes
	// share) or an s3:// URL (S3-compatible object storage). Empty: dir on
	// SQLite, database on PostgreSQL.
	MediaStore string
	// FFmpeg is the ffmpeg binary that converts sent voice notes, stickers,
	// GIFs and video thumbnails; empty: "ffmpeg" from PATH; "off": none.
	FFmpeg string
	// S3AccessKey and S3SecretKey are the S3 store's credentials when its
	// URL has none (environment only).
	S3AccessKey, S3SecretKey string
	// ClusterTTL is how long a node's heartbeat lasts (cluster mode): a
	// node silent that long is dead and its channels move. Heartbeats go
	// out every ClusterTTL/6.
	ClusterTTL time.Duration
	// MetricsAddr is a second listen address that serves /metrics without
	// a token (for a Prometheus on a private network); empty: none. The
	// main listener serves /metrics to the operator token in any case.
	MetricsAddr string
	// TrustedProxies lists the CIDRs (comma-separated) of reverse proxies
	// whose X-Forwarded-For and X-Forwarded-Proto are believed (for login
	// limits, the audit log and Secure cookies); empty: none.
	TrustedProxies string
}

// SQLitePath is the database file used when DatabaseURL is empty.
func (c Config) SQLitePath() string { return filepath.Join(c.DataDir, "wagate.db") }

// APIURL is the base URL channels report: PublicURL, or http://Addr/.
func (c Config) APIURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/") + "/"
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return "http://" + c.Addr + "/"
	}
	// A wildcard address has no host to put in a URL: name this machine's
	// loopback (the start-up log says to set WAGATE_PUBLIC_URL).
	if host == "" || net.ParseIP(host).IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// Load parses serve flags from args, with defaults taken from the
// environment through getenv. Flags override environment variables.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("wagate serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	fs.StringVar(&c.Addr, "addr", env("WAGATE_ADDR", "127.0.0.1:8080"), "listen address (WAGATE_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", env("WAGATE_DATA_DIR", "./data"), "data directory for the SQLite database and media (WAGATE_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("WAGATE_DATABASE_URL", ""), "PostgreSQL URL; empty uses SQLite in the data dir (WAGATE_DATABASE_URL)")
	fs.StringVar(&c.PublicURL, "public-url", env("WAGATE_PUBLIC_URL", ""), "public base URL reported as apiUrl (WAGATE_PUBLIC_URL)")
	fs.StringVar(&c.Engine, "engine", env("WAGATE_ENGINE", EngineWhatsmeow), "WhatsApp engine: whatsmeow or sim (WAGATE_ENGINE)")
	fs.StringVar(&c.WAVersion, "wa-version", env("WAGATE_WA_VERSION", ""), "pin the WhatsApp Web version x.y.z the whatsmeow engine announces; empty: learned from WhatsApp (WAGATE_WA_VERSION)")
	fs.StringVar(&c.DeviceName, "device-name", env("WAGATE_DEVICE_NAME", "wagate"), "name of linked channels in the phone's Linked devices list (WAGATE_DEVICE_NAME)")
	fs.BoolVar(&c.MediaAllowPrivate, "media-allow-private", env("WAGATE_MEDIA_ALLOW_PRIVATE", "") == "true", "let media URLs point to private, loopback and link-local addresses (WAGATE_MEDIA_ALLOW_PRIVATE=true)")
	fs.BoolVar(&c.WebhookAllowPrivate, "webhook-allow-private", env("WAGATE_WEBHOOK_ALLOW_PRIVATE", "") == "true", "let webhook URLs point to private, loopback and link-local addresses (WAGATE_WEBHOOK_ALLOW_PRIVATE=true)")
	fs.BoolVar(&c.ProxyAllowPrivate, "proxy-allow-private", env("WAGATE_PROXY_ALLOW_PRIVATE", "") == "true", "let partners and channels set proxies at private, loopback and link-local addresses (WAGATE_PROXY_ALLOW_PRIVATE=true)")
	level := fs.String("log-level", env("WAGATE_LOG_LEVEL", "info"), "debug, info, warn or error (WAGATE_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", env("WAGATE_LOG_FORMAT", "text"), "text or json (WAGATE_LOG_FORMAT)")
	expiry := fs.String("expiry-interval", env("WAGATE_EXPIRY_INTERVAL", "30s"), "how often expired channels are stopped (WAGATE_EXPIRY_INTERVAL)")
	session := fs.String("session-lifetime", env("WAGATE_SESSION_LIFETIME", "12h"), "how long a dashboard login lasts (WAGATE_SESSION_LIFETIME)")
	sentRetention := fs.String("sent-retention", env("WAGATE_SENT_RETENTION", "168h"), "how long sent messages are kept to answer recipients' retry requests (WAGATE_SENT_RETENTION)")
	fs.StringVar(&c.NodeID, "node-id", env("WAGATE_NODE_ID", ""), "this node's ID in a cluster (PostgreSQL); empty: host name and port (WAGATE_NODE_ID)")
	fs.StringVar(&c.InternalURL, "internal-url", env("WAGATE_INTERNAL_URL", ""), "where the other nodes of a cluster reach this one; empty: derived from the listen address (WAGATE_INTERNAL_URL)")
	fs.StringVar(&c.FFmpeg, "ffmpeg", env("WAGATE_FFMPEG", ""), "the ffmpeg binary that converts sent voice notes (Opus), stickers (WebP), GIFs (MP4) and makes video thumbnails; empty: ffmpeg from PATH; off: no conversions (WAGATE_FFMPEG)")
	fs.StringVar(&c.MediaStore, "media-store", env("WAGATE_MEDIA_STORE", ""), "where media files are kept: dir, database or s3://host[:port]/bucket[/prefix]?region=..; empty: dir on SQLite, database on PostgreSQL (WAGATE_MEDIA_STORE)")
	clusterTTL := fs.String("cluster-ttl", env("WAGATE_CLUSTER_TTL", "6s"), "how long a node's heartbeat lasts in a cluster; its channels move after that (WAGATE_CLUSTER_TTL)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env("WAGATE_METRICS_ADDR", ""), "serve /metrics without a token on this second address (host:port, keep it private); empty: only on the main listener with the operator token (WAGATE_METRICS_ADDR)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", env("WAGATE_TRUSTED_PROXIES", ""), "comma-separated CIDRs of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed, e.g. 10.0.0.0/8,127.0.0.1 (WAGATE_TRUSTED_PROXIES)")
	fs.BoolVar(&c.CookieSecure, "cookie-secure", env("WAGATE_COOKIE_SECURE", "") == "true", "mark dashboard cookies Secure on plain-HTTP requests too, behind a TLS proxy (WAGATE_COOKIE_SECURE=true)")
	// The admin token comes from the environment only: a flag would show in `ps`.
	c.AdminToken = getenv("WAGATE_ADMIN_TOKEN")
	c.S3AccessKey, c.S3SecretKey = getenv("WAGATE_S3_ACCESS_KEY"), getenv("WAGATE_S3_SECRET_KEY")
	c.ShutdownTimeout = 15 * time.Second
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := c.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return c, fmt.Errorf("log level: %w", err)
	}
	d, err := time.ParseDuration(*expiry)
	if err != nil {
		return c, fmt.Errorf("expiry interval: %w", err)
	}
	c.ExpiryInterval = d
	if c.SessionLifetime, err = time.ParseDuration(*session); err != nil {
		return c, fmt.Errorf("session lifetime: %w", err)
	}
	if c.SentRetention, err = time.ParseDuration(*sentRetention); err != nil {
		return c, fmt.Errorf("sent retention: %w", err)
	}
	if c.ClusterTTL, err = time.ParseDuration(*clusterTTL); err != nil {
		return c, fmt.Errorf("cluster TTL: %w", err)
	}
	return c, c.Validate()
}

// nodeID is the form of a node ID.
var nodeID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// waVersion is the form of a WhatsApp Web version.
var waVersion = regexp.MustCompile(`^[0-9]{1,5}\.[0-9]{1,6}\.[0-9]{1,12}$`)

// Validate checks the values are usable.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr %q: want host:port", c.Addr))
	}
	if _, err := ParseTrustedProxies(c.TrustedProxies); err != nil {
		errs = append(errs, err)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("metrics addr %q: want host:port", c.MetricsAddr))
		} else if c.MetricsAddr == c.Addr {
			errs = append(errs, errors.New("metrics addr: must differ from the listen address"))
		}
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("data dir: required when no database URL is set"))
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("database URL: must start with postgres:// or postgresql://"))
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("public URL %q: want an absolute http(s) URL", c.PublicURL))
		}
	}
	if c.Engine != EngineWhatsmeow && c.Engine != EngineSim {
		errs = append(errs, fmt.Errorf("engine %q: want whatsmeow or sim", c.Engine))
	}
	if c.WAVersion != "" && !waVersion.MatchString(c.WAVersion) {
		errs = append(errs, fmt.Errorf("WhatsApp version %q: want x.y.z, e.g. 2.3000.1031080782", c.WAVersion))
	}
	if n := len(c.DeviceName); n > 50 || strings.ContainsFunc(c.DeviceName, unicode.IsControl) {
		errs = append(errs, errors.New("device name: at most 50 characters, no control characters"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log format %q: want text or json", c.LogFormat))
	}
	if c.ExpiryInterval < time.Second {
		errs = append(errs, errors.New("expiry interval: at least 1s"))
	}
	if c.SessionLifetime != 0 && (c.SessionLifetime < time.Minute || c.SessionLifetime > 90*24*time.Hour) {
		errs = append(errs, errors.New("session lifetime: from 1m to 2160h (90 days)"))
	}
	if c.SentRetention != 0 && (c.SentRetention < time.Hour || c.SentRetention > 90*24*time.Hour) {
		errs = append(errs, errors.New("sent retention: from 1h to 2160h (90 days)"))
	}
	if c.ClusterTTL != 0 && (c.ClusterTTL < 3*time.Second || c.ClusterTTL > 5*time.Minute) {
		errs = append(errs, errors.New("cluster TTL: from 3s to 5m"))
	}
	if m := c.MediaStore; m != "" && m != "dir" && m != "database" && !strings.HasPrefix(m, "s3://") {
		errs = append(errs, fmt.Errorf("media store %q: want dir, database or an s3:// URL", m))
	}
	if c.MediaStore == "dir" && c.DataDir == "" {
		errs = append(errs, errors.New("media store dir: needs a data dir"))
	}
	if c.NodeID != "" && !nodeID.MatchString(c.NodeID) {
		errs = append(errs, fmt.Errorf("node ID %q: 1 to 64 letters, digits, '.', '_' or '-'", c.NodeID))
	}
	if c.InternalURL != "" {
		u, err := url.Parse(c.InternalURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("internal URL %q: want http(s)://host:port", c.InternalURL))
		}
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		errs = append(errs, errors.New("WAGATE_ADMIN_TOKEN: at least 16 characters"))
	}
	return errors.Join(errs...)
}

// ParseTrustedProxies reads a comma-separated list of CIDRs (or single
// addresses) of reverse proxies whose X-Forwarded-For and
// X-Forwarded-Proto are believed.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: want a CIDR (10.0.0.0/8) or an address", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want a CIDR (10.0.0.0/8) or an address", f)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

package config

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Load(nil, envMap(nil), io.Discard)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Config{
		Addr: "127.0.0.1:8080", DataDir: "./data", Engine: EngineWhatsmeow, LogLevel: slog.LevelInfo,
		LogFormat: "text", ExpiryInterval: 30 * time.Second, ShutdownTimeout: 15 * time.Second, DeviceName: "wagate",
		SessionLifetime: 12 * time.Hour, SentRetention: 7 * 24 * time.Hour, ClusterTTL: 6 * time.Second,
	}
	if c != want {
		t.Fatalf("defaults\n got %+v\nwant %+v", c, want)
	}
	if c.SQLitePath() != filepath.Join("data", "wagate.db") {
		t.Errorf("SQLitePath = %q", c.SQLitePath())
	}
	if c.APIURL() != "http://127.0.0.1:8080/" {
		t.Errorf("APIURL = %q", c.APIURL())
	}
}

var fullEnv = map[string]string{
	"WAGATE_ADDR":             "0.0.0.0:9000",
	"WAGATE_DATA_DIR":         "/var/lib/wagate",
	"WAGATE_DATABASE_URL":     "postgres://u@db/wagate",
	"WAGATE_PUBLIC_URL":       "https://wa.example.com",
	"WAGATE_ENGINE":           "sim",
	"WAGATE_LOG_LEVEL":        "debug",
	"WAGATE_LOG_FORMAT":       "json",
	"WAGATE_EXPIRY_INTERVAL":  "1m",
	"WAGATE_ADMIN_TOKEN":      "0123456789abcdef",
	"WAGATE_WA_VERSION":       "2.3000.1031080782",
	"WAGATE_DEVICE_NAME":      "Acme CRM",
	"WAGATE_SESSION_LIFETIME": "2h",
	"WAGATE_COOKIE_SECURE":    "true",
	"WAGATE_SENT_RETENTION":   "72h",
	"WAGATE_NODE_ID":          "node-a",
	"WAGATE_INTERNAL_URL":     "http://10.0.0.5:9000",
	"WAGATE_CLUSTER_TTL":      "10s",
	"WAGATE_METRICS_ADDR":     "10.0.0.5:9100",
	"WAGATE_TRUSTED_PROXIES":  "10.0.0.0/8, 127.0.0.1",
}

func TestEnv(t *testing.T) {
	c, err := Load(nil, envMap(fullEnv), io.Discard)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Config{
		Addr: "0.0.0.0:9000", DataDir: "/var/lib/wagate", DatabaseURL: "postgres://u@db/wagate",
		AdminToken: "0123456789abcdef", PublicURL: "https://wa.example.com", Engine: EngineSim,
		LogLevel: slog.LevelDebug, LogFormat: "json", ExpiryInterval: time.Minute, ShutdownTimeout: 15 * time.Second,
		WAVersion: "2.3000.1031080782", DeviceName: "Acme CRM", SessionLifetime: 2 * time.Hour, CookieSecure: true,
		SentRetention: 72 * time.Hour, NodeID: "node-a", InternalURL: "http://10.0.0.5:9000", ClusterTTL: 10 * time.Second,
		MetricsAddr: "10.0.0.5:9100", TrustedProxies: "10.0.0.0/8, 127.0.0.1",
	}
	if c != want {
		t.Fatalf("from env\n got %+v\nwant %+v", c, want)
	}
	if c.APIURL() != "https://wa.example.com/" {
		t.Errorf("APIURL = %q", c.APIURL())
	}
}

func TestFlagsOverrideEnv(t *testing.T) {
	args := []string{
		"--addr", "127.0.0.1:7000", "--data-dir", "/tmp/d", "--database-url", "postgresql://x@y/z",
		"--public-url", "http://pub.example/base/", "--engine", "whatsmeow", "--log-level", "warn",
		"--log-format", "text", "--expiry-interval", "5s", "--wa-version", "2.3000.1", "--device-name", "Shop",
		"--session-lifetime", "30m", "--sent-retention", "48h", "--node-id", "b", "--internal-url", "https://b.internal:8443",
		"--cluster-ttl", "4s", "--metrics-addr", "127.0.0.1:9101",
	}
	c, err := Load(args, envMap(fullEnv), io.Discard)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Config{
		Addr: "127.0.0.1:7000", DataDir: "/tmp/d", DatabaseURL: "postgresql://x@y/z",
		AdminToken: "0123456789abcdef", PublicURL: "http://pub.example/base/", Engine: EngineWhatsmeow,
		LogLevel: slog.LevelWarn, LogFormat: "text", ExpiryInterval: 5 * time.Second, ShutdownTimeout: 15 * time.Second,
		WAVersion: "2.3000.1", DeviceName: "Shop", SessionLifetime: 30 * time.Minute, CookieSecure: true,
		SentRetention: 48 * time.Hour, NodeID: "b", InternalURL: "https://b.internal:8443", ClusterTTL: 4 * time.Second,
		MetricsAddr: "127.0.0.1:9101", TrustedProxies: "10.0.0.0/8, 127.0.0.1",
	}
	if c != want {
		t.Fatalf("flags over env\n got %+v\nwant %+v", c, want)
	}
	if c.APIURL() != "http://pub.example/base/" {
		t.Errorf("APIURL = %q", c.APIURL())
	}
}

func TestAdminTokenHasNoFlag(t *testing.T) {
	if _, err := Load([]string{"--admin-token", "0123456789abcdef"}, envMap(nil), io.Discard); err == nil {
		t.Fatal("--admin-token accepted; the token must come from the environment only")
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		contains string
	}{
		{"unknown flag", []string{"--nope"}, nil, "nope"},
		{"extra argument", []string{"extra"}, nil, `unexpected argument "extra"`},
		{"bad log level", []string{"--log-level", "loud"}, nil, "log level"},
		{"bad log level env", nil, map[string]string{"WAGATE_LOG_LEVEL": "loud"}, "log level"},
		{"bad expiry", []string{"--expiry-interval", "often"}, nil, "expiry interval"},
		{"short expiry", []string{"--expiry-interval", "500ms"}, nil, "expiry interval: at least 1s"},
		{"bad addr", []string{"--addr", "8080"}, nil, `addr "8080"`},
		{"bad engine", []string{"--engine", "baileys"}, nil, `engine "baileys"`},
		{"bad engine env", nil, map[string]string{"WAGATE_ENGINE": "x"}, `engine "x"`},
		{"bad log format", []string{"--log-format", "xml"}, nil, `log format "xml"`},
		{"bad database URL", []string{"--database-url", "mysql://u@h/db"}, nil, "database URL"},
		{"sqlite URL", []string{"--database-url", "file:x.db"}, nil, "database URL"},
		{"short admin token", nil, map[string]string{"WAGATE_ADMIN_TOKEN": "short"}, "WAGATE_ADMIN_TOKEN"},
		{"bad public URL", []string{"--public-url", "wa.example.com"}, nil, "public URL"},
		{"ftp public URL", []string{"--public-url", "ftp://wa.example.com"}, nil, "public URL"},
		{"bad session lifetime", []string{"--session-lifetime", "forever"}, nil, "session lifetime"},
		{"short session lifetime", nil, map[string]string{"WAGATE_SESSION_LIFETIME": "10s"}, "session lifetime: from 1m"},
		{"bad sent retention", []string{"--sent-retention", "a week"}, nil, "sent retention"},
		{"short sent retention", nil, map[string]string{"WAGATE_SENT_RETENTION": "10m"}, "sent retention: from 1h"},
		{"bad node ID", []string{"--node-id", "a b"}, nil, "node ID"},
		{"long node ID", []string{"--node-id", strings.Repeat("n", 65)}, nil, "node ID"},
		{"bad internal URL", []string{"--internal-url", "10.0.0.5:9000"}, nil, "internal URL"},
		{"internal URL with a path", []string{"--internal-url", "http://10.0.0.5:9000/api"}, nil, "internal URL"},
		{"short cluster TTL", []string{"--cluster-ttl", "1s"}, nil, "cluster TTL: from 3s"},
		{"bad cluster TTL", []string{"--cluster-ttl", "soon"}, nil, "cluster TTL"},
		{"bad media store", []string{"--media-store", "ftp://x"}, nil, "media store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.args, envMap(tc.env), io.Discard)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not contain %q", err, tc.contains)
			}
		})
	}
}

func valid() Config {
	return Config{Addr: "127.0.0.1:8080", DataDir: "./data", Engine: EngineSim, LogFormat: "json", ExpiryInterval: time.Second}
}

func TestValidate(t *testing.T) {
	if err := valid().Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tc := range []struct {
		name     string
		mutate   func(*Config)
		contains string // "" means valid
	}{
		{"ipv6 addr", func(c *Config) { c.Addr = "[::1]:8080" }, ""},
		{"all interfaces", func(c *Config) { c.Addr = ":8080" }, ""},
		{"no port", func(c *Config) { c.Addr = "localhost" }, "addr"},
		{"empty addr", func(c *Config) { c.Addr = "" }, "addr"},
		{"no data dir, no URL", func(c *Config) { c.DataDir = "" }, "data dir"},
		{"no data dir, postgres", func(c *Config) { c.DataDir = ""; c.DatabaseURL = "postgres://h/db" }, ""},
		{"database URL scheme", func(c *Config) { c.DatabaseURL = "sqlite:///x" }, "database URL"},
		{"engine", func(c *Config) { c.Engine = "" }, "engine"},
		{"log format", func(c *Config) { c.LogFormat = "JSON" }, "log format"},
		{"expiry", func(c *Config) { c.ExpiryInterval = 0 }, "expiry interval"},
		{"admin token 15", func(c *Config) { c.AdminToken = strings.Repeat("a", 15) }, "WAGATE_ADMIN_TOKEN"},
		{"admin token 16", func(c *Config) { c.AdminToken = strings.Repeat("a", 16) }, ""},
		{"WhatsApp version", func(c *Config) { c.WAVersion = "2.3000.1031080782" }, ""},
		{"WhatsApp version form", func(c *Config) { c.WAVersion = "2.3000" }, "WhatsApp version"},
		{"device name too long", func(c *Config) { c.DeviceName = strings.Repeat("d", 51) }, "device name"},
		{"device name control", func(c *Config) { c.DeviceName = "a\nb" }, "device name"},
		{"public URL no host", func(c *Config) { c.PublicURL = "http://" }, "public URL"},
		{"metrics addr", func(c *Config) { c.MetricsAddr = "127.0.0.1:9100" }, ""},
		{"trusted proxies", func(c *Config) { c.TrustedProxies = "10.0.0.0/8, 192.168.1.1, fd00::/8" }, ""},
		{"trusted proxies bad CIDR", func(c *Config) { c.TrustedProxies = "10.0.0.0/33" }, "trusted proxy"},
		{"trusted proxies host name", func(c *Config) { c.TrustedProxies = "proxy.example" }, "trusted proxy"},
		{"metrics addr no port", func(c *Config) { c.MetricsAddr = "localhost" }, "metrics addr"},
		{"metrics addr same as addr", func(c *Config) { c.MetricsAddr = c.Addr }, "metrics addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(&c)
			err := c.Validate()
			switch {
			case tc.contains == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.contains != "" && err == nil:
				t.Fatal("Validate accepted it")
			case tc.contains != "" && !strings.Contains(err.Error(), tc.contains):
				t.Errorf("error %q does not contain %q", err, tc.contains)
			}
		})
	}
	// Every problem is reported at once.
	c := Config{Addr: "x", Engine: "y", LogFormat: "z"}
	err := c.Validate()
	for _, part := range []string{"addr", "data dir", "engine", "log format", "expiry interval"} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("joined error %v lacks %q", err, part)
		}
	}
}

func TestValidateErrorHidesDatabaseCredentials(t *testing.T) {
	c := valid()
	c.DatabaseURL = "mysql://user:hunter2@db/x"
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v", err)
	}
}

func TestAPIURL(t *testing.T) {
	for _, tc := range []struct {
		addr, public, want string
	}{
		{"127.0.0.1:8080", "", "http://127.0.0.1:8080/"},
		{"[::1]:9000", "", "http://[::1]:9000/"},
		{"127.0.0.1:8080", "https://wa.example.com", "https://wa.example.com/"},
		{"127.0.0.1:8080", "https://wa.example.com/", "https://wa.example.com/"},
		{"127.0.0.1:8080", "https://wa.example.com//", "https://wa.example.com/"},
		{"127.0.0.1:8080", "https://example.com/wa", "https://example.com/wa/"},
	} {
		c := Config{Addr: tc.addr, PublicURL: tc.public}
		if got := c.APIURL(); got != tc.want {
			t.Errorf("APIURL(addr %q, public %q) = %q, want %q", tc.addr, tc.public, got, tc.want)
		}
	}
}

// An addr that listens on every interface has no host to put in a URL: the
// loopback address stands in.
func TestAPIURLWildcardAddr(t *testing.T) {
	c := Config{Addr: ":8080"}
	if got := c.APIURL(); got != "http://127.0.0.1:8080/" {
		t.Fatalf("config.go APIURL with Addr %q and no PublicURL gives %q, not a usable URL; set WAGATE_PUBLIC_URL", c.Addr, got)
	}
}

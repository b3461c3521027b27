package whatsmeow

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	signalLog "go.mau.fi/libsignal/logger"
)

func TestSlogAdapter(t *testing.T) {
	var buf bytes.Buffer
	l := newWALogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), "Client")
	l.Debugf("Emitting QR code %s", "2@secret")
	l.Infof("Successfully paired %s", "1555:1@s.whatsapp.net")
	if buf.Len() != 0 {
		t.Fatalf("debug/info noise logged at info: %s", buf.String())
	}
	l.Sub("Socket").Warnf("odd frame %s", strings.Repeat("x", 2000))
	out := buf.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "wa_module=Client/Socket") || !strings.Contains(out, "(truncated)") || len(out) > 800 {
		t.Fatalf("warn line: %s", out)
	}
	buf.Reset()
	l.Errorf("boom %d", 1)
	if !strings.Contains(buf.String(), "level=ERROR") || !strings.Contains(buf.String(), "boom 1") {
		t.Fatalf("error line: %s", buf.String())
	}
}

// TestSignalLogger: libsignal's messages go to slog (not standard output),
// with its info as debug.
func TestSignalLogger(t *testing.T) {
	var buf bytes.Buffer
	setSignalLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	defer setSignalLogger(slog.New(slog.DiscardHandler))
	signalLog.Info("session built")
	if buf.Len() != 0 {
		t.Fatalf("libsignal info logged at info: %s", buf.String())
	}
	signalLog.Warning("untrusted identity")
	if out := buf.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "untrusted identity") || !strings.Contains(out, "module=libsignal") {
		t.Fatalf("warning line: %s", out)
	}
}

// The stream error 503 is read from the line whatsmeow logs for every
// node it receives (Node.XMLString), through the client's "Recv" logger.
func TestStreamWatch(t *testing.T) {
	for xml, want := range map[string]bool{
		`<stream:error code="503"/>`:                                                true,
		`<stream:error code="503" t="1700000000"/>`:                                 true,
		`<stream:error code="515"/>`:                                                false,
		`<stream:error code="401"><conflict type="device_removed"/></stream:error>`: false,
		`<stream:error code="503"><conflict type="replaced"/></stream:error>`:       false,
		`<stream:error><conflict type="replaced"/></stream:error>`:                  false,
		`<iq code="503" type="error"/>`:                                             false,
		`<message id="x"><body>code="503"</body></message>`:                         false,
	} {
		if got := isStreamError503(xml); got != want {
			t.Errorf("isStreamError503(%s) = %v", xml, got)
		}
	}
	c := &client{}
	l := streamWatch{Logger: newWALogger(slog.New(slog.DiscardHandler), "Client"), c: c}
	l.Sub("Socket").Debugf("%s", `<stream:error code="503"/>`)
	if c.restart503.Load() {
		t.Fatal("a line of another logger was read")
	}
	l.Sub("Recv").Debugf("%s", `<stream:error code="503"/>`)
	if !c.restart503.Load() {
		t.Fatal("the 503 was missed")
	}
}

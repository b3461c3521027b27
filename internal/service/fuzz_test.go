package service

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// FuzzChatID: chat and phone ID parsing never panics, what it accepts is
// a well-formed JID that parses to itself again, and the user and group
// forms agree with it.
func FuzzChatID(f *testing.F) {
	for _, s := range []string{"15551234567", "+1 (555) 123-4567", "15551234567@s.whatsapp.net", "15551234567@c.us",
		"120363000000000001@g.us", "1234-5678@g.us", "-@g.us", "@", "1@s.whatsapp.net", "٣٣٣٣٣٣٣٣", "１５５５１２３４５６７",
		"15551234567@g.us@x", " 1555 123 4567 ", "1555\x001234567", "15551234567@lid", strings.Repeat("9", 41) + "@g.us"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		jid, err := ChatID("to", raw)
		if err != nil {
			if _, uerr := UserID("to", raw); uerr == nil {
				t.Fatalf("UserID accepts %q that ChatID refuses", raw)
			}
			return
		}
		user, server, ok := strings.Cut(jid, "@")
		if !ok || (server != UserServer && server != GroupServer && server != LIDServer) || user == "" {
			t.Fatalf("ChatID(%q) = %q: not a user or group JID", raw, jid)
		}
		for _, r := range user {
			if (r < '0' || r > '9') && r != '-' {
				t.Fatalf("ChatID(%q) = %q: the user part is not digits", raw, jid)
			}
		}
		if again, err := ChatID("to", jid); err != nil || again != jid {
			t.Fatalf("ChatID(%q) = %q, which parses to %q, %v", raw, jid, again, err)
		}
		if server == LIDServer { // a chat, never a user ID (a number is needed)
			if _, err := UserID("to", raw); err == nil || PhoneOf(jid) != "" || IsGroup(jid) {
				t.Fatalf("LID %q: UserID %v, PhoneOf %q", jid, err, PhoneOf(jid))
			}
			return
		}
		if IsGroup(jid) == (PhoneOf(jid) != "") {
			t.Fatalf("%q: IsGroup and PhoneOf disagree", jid)
		}
		if u, err := UserID("to", raw); (err == nil) == IsGroup(jid) || (err == nil && u != jid) {
			t.Fatalf("UserID(%q) = %q, %v; ChatID says %q", raw, u, err, jid)
		}
	})
}

// FuzzExportRow: whatever a partner names a channel, its CSV row reads back
// as the same eight cells, the name as given (after a leading quote when
// it would start a spreadsheet formula), and no cell starts a formula.
func FuzzExportRow(f *testing.F) {
	for _, s := range []string{"Flower shop", "=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", " =1", "\t=1", "\r=1",
		"a,b", "quote \" inside", "line\nbreak", "", "'=already", "ünïcödé", "\u202e", "=\n=", "\xff"} {
		f.Add(s, "15551234567")
	}
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, name, phone string) {
		ch := model.Channel{ID: "ABCDEF-12345", Name: name, Phone: phone, Mode: model.ModeTrial,
			CreatedAt: now, TrialUntil: now.Add(5 * 24 * time.Hour), ActiveTill: now.Add(5 * 24 * time.Hour)}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		if err := w.Write(exportRow(ch, now)); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(rows) != 1 || len(rows[0]) != len(ExportColumns) {
			t.Fatalf("row of %q reads back as %q (%v)", name, rows, err)
		}
		cell := rows[0][0]
		// encoding/csv turns \r\n inside a quoted cell into \n.
		want := strings.ReplaceAll(csvSafe(name), "\r\n", "\n")
		if cell != want {
			t.Fatalf("name %q reads back as %q, want %q", name, cell, want)
		}
		if strings.TrimPrefix(want, "'") != strings.ReplaceAll(name, "\r\n", "\n") && want != strings.ReplaceAll(name, "\r\n", "\n") {
			t.Fatalf("name %q was changed beyond a leading quote: %q", name, want)
		}
		for i, c := range rows[0] {
			if t2 := strings.TrimLeft(c, " "); t2 != "" && strings.ContainsRune("=+-@\t\r", rune(t2[0])) && i == 0 {
				t.Fatalf("cell %d %q starts a formula", i, c)
			}
		}
	})
}

package service_test

import (
	"strings"
	"testing"

	"github.com/wagate/wagate/internal/service"
)

func TestChatID(t *testing.T) {
	ok := map[string]string{
		"4915112345678":                   "4915112345678@s.whatsapp.net",
		"+4915112345678":                  "4915112345678@s.whatsapp.net",
		"  +49 151 1234 5678  ":           "4915112345678@s.whatsapp.net",
		"+49-151-1234-5678":               "4915112345678@s.whatsapp.net",
		"+1 (555) 123.4567":               "15551234567@s.whatsapp.net",
		"+ 49 151 12345678":               "4915112345678@s.whatsapp.net",
		"1234567":                         "1234567@s.whatsapp.net",         // 7 digits: shortest
		"123456789012345":                 "123456789012345@s.whatsapp.net", // 15: longest
		"4915112345678@s.whatsapp.net":    "4915112345678@s.whatsapp.net",
		"4915112345678@c.us":              "4915112345678@s.whatsapp.net",
		" 4915112345678@c.us ":            "4915112345678@s.whatsapp.net",
		"120363012345678901@g.us":         "120363012345678901@g.us",
		"4915112345678-1600000000@g.us":   "4915112345678-1600000000@g.us", // old groups: creator-time
		"1@g.us":                          "1@g.us",
		strings.Repeat("1", 40) + "@g.us": strings.Repeat("1", 40) + "@g.us",
	}
	for in, want := range ok {
		got, err := service.ChatID("to", in)
		if err != nil || got != want {
			t.Errorf("ChatID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"", "   ",
		"123456",                       // too short
		"1234567890123456",             // too long
		"+49 151 1234 56789 01",        // too long once cleaned
		"1111111111111111111-1",        // a dash is no group without @g.us
		"4915abc12345678",              // letters
		"++4915112345678",              // two pluses
		"49+15112345678",               // a plus inside
		"4915112345678 ext 1",          // words
		"٤٩١٥١١٢٣٤٥٦٧٨",                // non-ASCII digits
		"4915112345678@",               // no server
		"@s.whatsapp.net",              // no user
		"4915112345678@example.com",    // unknown server
		"4915112345678@S.WHATSAPP.NET", // servers are lower case
		"+4915112345678@s.whatsapp.net",
		"49151 12345678@s.whatsapp.net",
		"4915112345678:12@s.whatsapp.net", // a device, not a chat
		"123456@s.whatsapp.net",           // too short
		"1234567890123456@c.us",           // too long
		"@g.us",
		"abc@g.us",
		"-1600000000@g.us",
		"4915112345678-@g.us",
		"4915112345678-16000-00000@g.us",
		"4915112345678-abc@g.us",
		strings.Repeat("1", 41) + "@g.us",
		"4915112345678@s.whatsapp.net@g.us",
	}
	for _, in := range bad {
		got, err := service.ChatID("to", in)
		if err == nil {
			t.Errorf("ChatID(%q) = %q, want an error", in, got)
			continue
		}
		svWantInvalid(t, err, "to")
	}
	// The field is named as given.
	_, err := service.ChatID("chat_id", "x")
	svWantInvalid(t, err, "chat_id")
	if _, err := service.ChatID("to", ""); !strings.Contains(err.Error(), "required") {
		t.Errorf("empty: %v", err)
	}
}

func TestUserIDAndGroupID(t *testing.T) {
	for in, want := range map[string]string{
		"+49 151 12345678":             "4915112345678@s.whatsapp.net",
		"4915112345678@c.us":           "4915112345678@s.whatsapp.net",
		"4915112345678@s.whatsapp.net": "4915112345678@s.whatsapp.net",
	} {
		if got, err := service.UserID("user", in); err != nil || got != want {
			t.Errorf("UserID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"120363012345678901@g.us", "4915112345678-1600000000@g.us", "", "abc"} {
		got, err := service.UserID("user", in)
		if err == nil {
			t.Errorf("UserID(%q) = %q, want an error", in, got)
			continue
		}
		svWantInvalid(t, err, "user")
	}

	for in, want := range map[string]string{
		"120363012345678901":            "120363012345678901@g.us",
		" 120363012345678901 ":          "120363012345678901@g.us",
		"120363012345678901@g.us":       "120363012345678901@g.us",
		"4915112345678-1600000000":      "4915112345678-1600000000@g.us",
		"4915112345678-1600000000@g.us": "4915112345678-1600000000@g.us",
	} {
		if got, err := service.GroupID("group", in); err != nil || got != want {
			t.Errorf("GroupID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "   ", "+4915112345678", "4915112345678@s.whatsapp.net", "4915112345678@c.us",
		"abc", "1203-abc", "12 03", "120363012345678901@example.com", strings.Repeat("1", 41),
	} {
		got, err := service.GroupID("group", in)
		if err == nil {
			t.Errorf("GroupID(%q) = %q, want an error", in, got)
			continue
		}
		svWantInvalid(t, err, "group")
	}
}

func TestIsGroupAndPhoneOf(t *testing.T) {
	for _, c := range []struct {
		jid   string
		group bool
		phone string
	}{
		{"4915112345678@s.whatsapp.net", false, "4915112345678"},
		{"120363012345678901@g.us", true, ""},
		{"4915112345678-1600000000@g.us", true, ""},
		{"4915112345678@c.us", false, ""}, // not normalized: no phone
		{"4915112345678", false, ""},
		{"", false, ""},
		{"x@g.us.evil", false, ""},
		{"@s.whatsapp.net", false, ""},
	} {
		if got := service.IsGroup(c.jid); got != c.group {
			t.Errorf("IsGroup(%q) = %v", c.jid, got)
		}
		if got := service.PhoneOf(c.jid); got != c.phone {
			t.Errorf("PhoneOf(%q) = %q, want %q", c.jid, got, c.phone)
		}
	}
	// Round trip: what ChatID makes, PhoneOf reads back.
	jid, err := service.ChatID("to", "+49 (151) 1234-5678")
	if err != nil || service.PhoneOf(jid) != "4915112345678" || service.IsGroup(jid) {
		t.Fatalf("round trip: %q %v", jid, err)
	}
}

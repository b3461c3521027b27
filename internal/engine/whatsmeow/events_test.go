package whatsmeow

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waSyncAction"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
)

func TestMapEvent(t *testing.T) {
	ts := time.Date(2025, 12, 1, 10, 0, 0, 0, time.UTC)
	me := types.NewJID("15551234567", types.DefaultUserServer)
	meDev := types.JID{User: "15551234567", Device: 7, Server: types.DefaultUserServer}
	meLID := types.JID{User: "99887766", Device: 7, Server: types.HiddenUserServer}
	bob := types.NewJID("15557654321", types.DefaultUserServer)
	bobDev := types.JID{User: "15557654321", Device: 3, Server: types.DefaultUserServer}
	bobLID := types.NewJID("11223344", types.HiddenUserServer)
	carol := types.NewJID("15550001111", types.DefaultUserServer)
	group := types.NewJID("120363025246125486", types.GroupServer)
	text := func(s string) *waE2E.Message { return &waE2E.Message{Conversation: proto.String(s)} }

	tests := []struct {
		name string
		in   any
		want []engine.Event
	}{
		{"pair success", &events.PairSuccess{ID: meDev, LID: meLID, BusinessName: "Acme", Platform: "android"},
			[]engine.Event{engine.Linked{Device: "15551234567:7@s.whatsapp.net", Account: engine.Account{Phone: "15551234567", Name: "Acme"}}}},
		{"pair error", &events.PairError{ID: meDev, Error: errors.New("hmac mismatch")},
			[]engine.Event{engine.LinkFailed{Reason: "hmac mismatch"}}},
		{"connected", &events.Connected{}, []engine.Event{engine.Connected{}}},
		{"disconnected", &events.Disconnected{}, []engine.Event{engine.Disconnected{}}},
		{"logged out on connect", &events.LoggedOut{OnConnect: true, Reason: events.ConnectFailureMainDeviceGone},
			[]engine.Event{engine.LoggedOut{Reason: "403: primary device was logged out", Code: 403}}},
		{"logged out stream", &events.LoggedOut{Reason: events.ConnectFailureLoggedOut},
			[]engine.Event{engine.LoggedOut{Reason: "401: logged out from another device", Code: 401}}},
		{"stream replaced", &events.StreamReplaced{}, []engine.Event{engine.StreamReplaced{}}},
		{"temporary ban", &events.TemporaryBan{Code: events.TempBanBlockedByUsers, Expire: 36 * time.Hour},
			[]engine.Event{engine.TemporaryBan{Code: 102, Reason: "102: too many people blocked you", Expires: 36 * time.Hour}}},
		{"client outdated", &events.ClientOutdated{},
			[]engine.Event{engine.ClientOutdated{Code: 405}}},
		{"connect failure transient", &events.ConnectFailure{Reason: events.ConnectFailureServiceUnavailable, Message: "later"},
			[]engine.Event{engine.ConnectFailure{Code: 503, Reason: "503: unknown error: later"}}},
		{"connect failure unknown", &events.ConnectFailure{Reason: 499},
			[]engine.Event{engine.ConnectFailure{Code: 499, Reason: "499: unknown error"}}},
		{"connect failure generic", &events.ConnectFailure{Reason: events.ConnectFailureGeneric},
			[]engine.Event{engine.ConnectFailure{Code: 400, Reason: "400: unknown error"}}},
		{"connect failure banned", &events.ConnectFailure{Reason: events.ConnectFailureUnknownLogout},
			[]engine.Event{engine.ConnectFailure{Code: 406, Reason: "406: logged out for unknown reason"}}},
		{"connect failure temp banned", &events.ConnectFailure{Reason: events.ConnectFailureTempBanned},
			[]engine.Event{engine.ConnectFailure{Code: 402, Reason: "402: account temporarily banned"}}},
		{"connect failure bad user agent", &events.ConnectFailure{Reason: events.ConnectFailureBadUserAgent},
			[]engine.Event{engine.ClientOutdated{Code: 409}}},
		{"stream error", &events.StreamError{Code: "503"}, []engine.Event{engine.StreamError{Code: "503"}}},
		{"keepalive timeout", &events.KeepAliveTimeout{ErrorCount: 2, LastSuccess: ts},
			[]engine.Event{engine.KeepAliveLost{Failures: 2, LastSuccess: ts}}},
		{"keepalive restored", &events.KeepAliveRestored{}, []engine.Event{engine.KeepAliveRestored{}}},
		{"undecryptable", &events.UndecryptableMessage{Info: types.MessageInfo{
			MessageSource: types.MessageSource{Chat: bob, Sender: bobDev}, ID: "3EB0UD", PushName: "Bob", Timestamp: ts}},
			[]engine.Event{engine.Undecryptable{ID: "3EB0UD", Chat: "15557654321@s.whatsapp.net", Sender: "15557654321@s.whatsapp.net", PushName: "Bob", Time: ts}}},
		{"undecryptable unavailable", &events.UndecryptableMessage{IsUnavailable: true, Info: types.MessageInfo{
			MessageSource: types.MessageSource{Chat: bob, Sender: bobDev}, ID: "3EB0UE", Timestamp: ts}},
			[]engine.Event{engine.Undecryptable{ID: "3EB0UE", Chat: "15557654321@s.whatsapp.net", Sender: "15557654321@s.whatsapp.net", Time: ts, Unavailable: true}}},
		{"undecryptable status", &events.UndecryptableMessage{Info: types.MessageInfo{
			MessageSource: types.MessageSource{Chat: types.StatusBroadcastJID, Sender: bobDev}, ID: "3EB0UF"}}, nil},

		{"message conversation", &events.Message{
			Info: types.MessageInfo{
				MessageSource: types.MessageSource{Chat: bob, Sender: bobDev},
				ID:            "3EB0AA", PushName: "Bob", Timestamp: ts,
			},
			Message: text("hello"),
		}, []engine.Event{engine.Message{ID: "3EB0AA", Chat: "15557654321@s.whatsapp.net", Sender: "15557654321@s.whatsapp.net", PushName: "Bob", Text: "hello", Time: ts, Content: engine.Content{Kind: engine.KindText, Text: "hello"}}}},
		{"message extended text from me", &events.Message{
			Info: types.MessageInfo{
				MessageSource: types.MessageSource{Chat: bob, Sender: meDev, IsFromMe: true},
				ID:            "3EB0AB", Timestamp: ts,
			},
			Message: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("see https://x.example")}},
		}, []engine.Event{engine.Message{ID: "3EB0AB", Chat: "15557654321@s.whatsapp.net", Sender: "15551234567@s.whatsapp.net", FromMe: true, Text: "see https://x.example", Time: ts, Content: engine.Content{Kind: engine.KindText, Text: "see https://x.example"}}}},
		{"message by LID maps to phone number", &events.Message{
			Info: types.MessageInfo{
				MessageSource: types.MessageSource{Chat: bobLID, Sender: bobLID, SenderAlt: bob, AddressingMode: types.AddressingModeLID},
				ID:            "3EB0AC", Timestamp: ts,
			},
			Message: text("via lid"),
		}, []engine.Event{engine.Message{ID: "3EB0AC", Chat: "15557654321@s.whatsapp.net", Sender: "15557654321@s.whatsapp.net", Text: "via lid", Time: ts, Content: engine.Content{Kind: engine.KindText, Text: "via lid"}}}},
		{"message from me by LID", &events.Message{
			Info: types.MessageInfo{
				MessageSource: types.MessageSource{Chat: bobLID, Sender: meLID, IsFromMe: true, RecipientAlt: bob},
				ID:            "3EB0AD", Timestamp: ts,
			},
			Message: text("to lid"),
		}, []engine.Event{engine.Message{ID: "3EB0AD", Chat: "15557654321@s.whatsapp.net", Sender: "99887766@lid", FromMe: true, Text: "to lid", Time: ts, Content: engine.Content{Kind: engine.KindText, Text: "to lid"}}}},
		{"group message", &events.Message{
			Info: types.MessageInfo{
				MessageSource: types.MessageSource{Chat: group, Sender: carol, IsGroup: true},
				ID:            "3EB0AE", PushName: "Carol", Timestamp: ts,
			},
			Message: text("hi all"),
		}, []engine.Event{engine.Message{ID: "3EB0AE", Chat: "120363025246125486@g.us", Sender: "15550001111@s.whatsapp.net", PushName: "Carol", Text: "hi all", Time: ts, Content: engine.Content{Kind: engine.KindText, Text: "hi all"}}}},
		{"image message", &events.Message{
			Info:    types.MessageInfo{MessageSource: types.MessageSource{Chat: bob, Sender: bob}, ID: "X"},
			Message: &waE2E.Message{ImageMessage: &waE2E.ImageMessage{Caption: proto.String("pic")}},
		}, []engine.Event{engine.Message{ID: "X", Chat: "15557654321@s.whatsapp.net", Sender: "15557654321@s.whatsapp.net", Text: "pic",
			Content: engine.Content{Kind: engine.KindImage, Text: "pic", Media: &engine.Media{}}}}},
		{"history sync notification ignored", &events.Message{
			Info: types.MessageInfo{MessageSource: types.MessageSource{Chat: me, Sender: meDev, IsFromMe: true}, ID: "Y"},
			Message: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
				Type: waE2E.ProtocolMessage_HISTORY_SYNC_NOTIFICATION.Enum(), HistorySyncNotification: &waE2E.HistorySyncNotification{},
			}},
		}, nil},
		{"edit without its protocol message ignored", &events.Message{
			Info: types.MessageInfo{MessageSource: types.MessageSource{Chat: bob, Sender: bob}, ID: "Z"}, Message: text("edited"), IsEdit: true,
		}, nil},
		{"status post is a story", &events.Message{
			Info: types.MessageInfo{MessageSource: types.MessageSource{Chat: types.StatusBroadcastJID, Sender: bob}, ID: "S", PushName: "Bob", Timestamp: ts}, Message: text("story"),
		}, []engine.Event{engine.Message{ID: "S", Chat: "status@broadcast", Sender: "15557654321@s.whatsapp.net", PushName: "Bob", Text: "story", Time: ts, Content: engine.Content{Kind: engine.KindText, Text: "story"}}}},

		{"receipt delivered", &events.Receipt{
			MessageSource: types.MessageSource{Chat: bob, Sender: bobDev}, MessageIDs: []string{"A", "B"}, Timestamp: ts, Type: types.ReceiptTypeDelivered,
		}, []engine.Event{engine.Receipt{IDs: []string{"A", "B"}, Chat: "15557654321@s.whatsapp.net", Sender: "15557654321@s.whatsapp.net", Type: engine.ReceiptDelivered, Time: ts}}},
		{"receipt inactive is delivered", &events.Receipt{
			MessageSource: types.MessageSource{Chat: bob, Sender: bob}, MessageIDs: []string{"A"}, Timestamp: ts, Type: types.ReceiptTypeInactive,
		}, []engine.Event{engine.Receipt{IDs: []string{"A"}, Chat: "15557654321@s.whatsapp.net", Sender: "15557654321@s.whatsapp.net", Type: engine.ReceiptDelivered, Time: ts}}},
		{"receipt read in group", &events.Receipt{
			MessageSource: types.MessageSource{Chat: group, Sender: carol, IsGroup: true}, MessageIDs: []string{"C"}, Timestamp: ts, Type: types.ReceiptTypeRead,
		}, []engine.Event{engine.Receipt{IDs: []string{"C"}, Chat: "120363025246125486@g.us", Sender: "15550001111@s.whatsapp.net", Type: engine.ReceiptRead, Time: ts}}},
		{"receipt played", &events.Receipt{
			MessageSource: types.MessageSource{Chat: bob, Sender: bob}, MessageIDs: []string{"D"}, Timestamp: ts, Type: types.ReceiptTypePlayed,
		}, []engine.Event{engine.Receipt{IDs: []string{"D"}, Chat: "15557654321@s.whatsapp.net", Sender: "15557654321@s.whatsapp.net", Type: engine.ReceiptPlayed, Time: ts}}},
		{"receipt read-self ignored", &events.Receipt{
			MessageSource: types.MessageSource{Chat: bob, Sender: meDev, IsFromMe: true}, MessageIDs: []string{"E"}, Type: types.ReceiptTypeReadSelf,
		}, nil},
		{"receipt sender ignored", &events.Receipt{
			MessageSource: types.MessageSource{Chat: bob, Sender: meDev, IsFromMe: true}, MessageIDs: []string{"E"}, Type: types.ReceiptTypeSender,
		}, nil},
		{"receipt retry ignored", &events.Receipt{
			MessageSource: types.MessageSource{Chat: bob, Sender: bob}, MessageIDs: []string{"E"}, Type: types.ReceiptTypeRetry,
		}, nil},

		{"group subject and settings", &events.GroupInfo{
			JID: group, Sender: &carol, Timestamp: ts,
			Name:     &types.GroupName{Name: "New name"},
			Topic:    &types.GroupTopic{Topic: "About us"},
			Announce: &types.GroupAnnounce{IsAnnounce: true},
		}, []engine.Event{
			engine.GroupChange{Group: "120363025246125486@g.us", Actor: "15550001111@s.whatsapp.net", Action: "subject", Subject: "New name", Time: ts},
			engine.GroupChange{Group: "120363025246125486@g.us", Actor: "15550001111@s.whatsapp.net", Action: "description", Description: "About us", Time: ts},
			engine.GroupChange{Group: "120363025246125486@g.us", Actor: "15550001111@s.whatsapp.net", Action: "settings", Time: ts},
		}},
		{"group add and remove by admin", &events.GroupInfo{
			JID: group, Sender: &carol, Timestamp: ts, Join: []types.JID{bob}, Leave: []types.JID{me},
		}, []engine.Event{
			engine.GroupChange{Group: "120363025246125486@g.us", Actor: "15550001111@s.whatsapp.net", Action: "add", Participants: []string{"15557654321@s.whatsapp.net"}, Time: ts},
			engine.GroupChange{Group: "120363025246125486@g.us", Actor: "15550001111@s.whatsapp.net", Action: "remove", Participants: []string{"15551234567@s.whatsapp.net"}, Time: ts},
		}},
		{"group join by invite and leave by self", &events.GroupInfo{
			JID: group, Sender: &bob, Timestamp: ts, Join: []types.JID{bob}, JoinReason: "invite",
		}, []engine.Event{
			engine.GroupChange{Group: "120363025246125486@g.us", Actor: "15557654321@s.whatsapp.net", Action: "join", Participants: []string{"15557654321@s.whatsapp.net"}, Time: ts},
		}},
		{"group leave by self with LID sender", &events.GroupInfo{
			JID: group, Sender: &bobLID, SenderPN: &bob, Timestamp: ts, Leave: []types.JID{bobLID},
		}, []engine.Event{
			engine.GroupChange{Group: "120363025246125486@g.us", Actor: "15557654321@s.whatsapp.net", Action: "leave", Participants: []string{"11223344@lid"}, Time: ts},
		}},
		{"group promote and demote", &events.GroupInfo{
			JID: group, Sender: &carol, Timestamp: ts, Promote: []types.JID{bob}, Demote: []types.JID{me},
		}, []engine.Event{
			engine.GroupChange{Group: "120363025246125486@g.us", Actor: "15550001111@s.whatsapp.net", Action: "promote", Participants: []string{"15557654321@s.whatsapp.net"}, Time: ts},
			engine.GroupChange{Group: "120363025246125486@g.us", Actor: "15550001111@s.whatsapp.net", Action: "demote", Participants: []string{"15551234567@s.whatsapp.net"}, Time: ts},
		}},
		{"group delete ignored", &events.GroupInfo{JID: group, Delete: &types.GroupDelete{Deleted: true}}, nil},
		{"joined new group", &events.JoinedGroup{
			Type: "new", Sender: &carol,
			GroupInfo: types.GroupInfo{
				JID: group, GroupName: types.GroupName{Name: "Team"}, GroupCreated: ts,
				Participants: []types.GroupParticipant{{JID: carol}, {JID: bobLID, PhoneNumber: bob, LID: bobLID}},
			},
		}, []engine.Event{engine.GroupChange{Group: "120363025246125486@g.us", Actor: "15550001111@s.whatsapp.net", Action: "create", Subject: "Team",
			Participants: []string{"15550001111@s.whatsapp.net", "15557654321@s.whatsapp.net"}, Time: ts}}},
		{"joined existing group", &events.JoinedGroup{
			Reason: "invite",
			GroupInfo: types.GroupInfo{JID: group, GroupName: types.GroupName{Name: "Club"},
				Participants: []types.GroupParticipant{{JID: carol}}},
		}, []engine.Event{engine.GroupChange{Group: "120363025246125486@g.us", Action: "join", Subject: "Club"}}},

		{"qr handled by the channel", &events.QR{Codes: []string{"a", "b"}}, nil},
		{"scanned without multidevice ignored", &events.QRScannedWithoutMultidevice{}, nil},
		{"push name setting (state only)", &events.PushNameSetting{Action: &waSyncAction.PushNameSetting{Name: proto.String("Al")}}, nil},
		{"presence online", &events.Presence{From: bobDev}, []engine.Event{engine.Presence{Chat: "15557654321@s.whatsapp.net", User: "15557654321@s.whatsapp.net", State: engine.PresenceOnline}}},
		{"presence offline", &events.Presence{From: bob, Unavailable: true, LastSeen: ts},
			[]engine.Event{engine.Presence{Chat: "15557654321@s.whatsapp.net", User: "15557654321@s.whatsapp.net", State: engine.PresenceOffline, LastSeen: ts}}},
		{"chat presence typing in group", &events.ChatPresence{
			MessageSource: types.MessageSource{Chat: group, Sender: carol, IsGroup: true}, State: types.ChatPresenceComposing,
		}, []engine.Event{engine.Presence{Chat: "120363025246125486@g.us", User: "15550001111@s.whatsapp.net", State: engine.PresenceTyping}}},
		{"chat presence recording", &events.ChatPresence{
			MessageSource: types.MessageSource{Chat: bob, Sender: bob}, State: types.ChatPresenceComposing, Media: types.ChatPresenceMediaAudio,
		}, []engine.Event{engine.Presence{Chat: "15557654321@s.whatsapp.net", User: "15557654321@s.whatsapp.net", State: engine.PresenceRecording}}},
		{"chat presence paused by LID", &events.ChatPresence{
			MessageSource: types.MessageSource{Chat: bobLID, Sender: bobLID, SenderAlt: bob}, State: types.ChatPresencePaused,
		}, []engine.Event{engine.Presence{Chat: "15557654321@s.whatsapp.net", User: "15557654321@s.whatsapp.net", State: engine.PresencePaused}}},
		{"own chat presence ignored", &events.ChatPresence{
			MessageSource: types.MessageSource{Chat: bob, Sender: meDev, IsFromMe: true}, State: types.ChatPresenceComposing,
		}, nil},
		{"group description removed", &events.GroupInfo{
			JID: group, Sender: &carol, Timestamp: ts, Topic: &types.GroupTopic{TopicDeleted: true},
		}, []engine.Event{engine.GroupChange{Group: "120363025246125486@g.us", Actor: "15550001111@s.whatsapp.net", Action: "description", Time: ts}}},
		{"history sync ignored", &events.HistorySync{}, nil},
		{"unknown type", "not an event", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mapEvent(tt.in, nil)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("mapEvent(%T)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseChat(t *testing.T) {
	good := map[string]string{
		"15551234567":                   "15551234567@s.whatsapp.net",
		"+15551234567":                  "15551234567@s.whatsapp.net",
		" 15551234567 ":                 "15551234567@s.whatsapp.net",
		"15551234567@s.whatsapp.net":    "15551234567@s.whatsapp.net",
		"15551234567:4@s.whatsapp.net":  "15551234567@s.whatsapp.net",
		"15551234567@c.us":              "15551234567@s.whatsapp.net",
		"120363025246125486@g.us":       "120363025246125486@g.us",
		"15551234567-1609459200@g.us":   "15551234567-1609459200@g.us",
		"11223344@lid":                  "11223344@lid",
		"120363144038483540@newsletter": "120363144038483540@newsletter",
	}
	for in, want := range good {
		jid, err := parseChat(in)
		if err != nil || jid.String() != want {
			t.Errorf("parseChat(%q) = %q, %v; want %q", in, jid, err, want)
		}
	}
	for _, in := range []string{"", "123", "0155512345", "1555abc4567", "1234567890123456", "abc@s.whatsapp.net", "status@broadcast",
		"1555@example.com", "@g.us", "12-ab@g.us", "a@b@c", "15551234567@s.whatsapp.net.1"} {
		if jid, err := parseChat(in); !errors.Is(err, engine.ErrInvalidPhone) {
			t.Errorf("parseChat(%q) = %v, %v; want ErrInvalidPhone", in, jid, err)
		}
	}
	if j, err := parseUser(""); err != nil || !j.IsEmpty() {
		t.Errorf("parseUser empty: %v %v", j, err)
	}
	if _, err := parseUser("120363025246125486@g.us"); err == nil {
		t.Error("group accepted as a sender")
	}
}

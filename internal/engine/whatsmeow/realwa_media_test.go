package whatsmeow

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/fakewa"
)

// Received files fetched on demand, media retries, calls and poll votes
// against the fake WhatsApp server.

const carolPhone = "15550001111"

// A received image is downloaded by its Ref; once the media host's copy
// expired (404), the session asks the sender's phone to upload it again
// (an encrypted media retry receipt, answered by an encrypted
// notification with the new path) and gets the file; when the phone no
// longer has it either, the download is ErrMediaGone.
func TestMediaRetryFetchesExpiredFile(t *testing.T) {
	w := newWorld(t, Options{})
	carol, err := w.srv.AddPeer(fakewa.PeerOptions{Phone: carolPhone, PushName: "Carol"})
	if err != nil {
		t.Fatal(err)
	}
	o := w.connectStored("15551234567", 4, engine.SessionConfig{})
	ctx := ctxT(t)
	file := bytes.Repeat([]byte("a picture's bytes "), 100)
	up, err := w.srv.Upload(file, wm.MediaImage)
	if err != nil {
		t.Fatal(err)
	}
	n := len(o.rec.all())
	sent, err := carol.Send(o.acct, &waE2E.Message{ImageMessage: &waE2E.ImageMessage{URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath),
		MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		Mimetype: proto.String("image/jpeg")}})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := o.rec.wait(t, n, wait, func(ev engine.Event) bool { m, ok := ev.(engine.Message); return ok && m.ID == sent.ID })
	m := ev.(engine.Message)
	if m.Content.Media == nil || m.Content.Media.Ref == "" {
		t.Fatalf("received image without a reference: %+v", m.Content.Media)
	}
	req := engine.MediaRequest{Ref: m.Content.Media.Ref, MessageID: m.ID, Chat: m.Chat, Sender: m.Sender}
	if data, err := o.DownloadMedia(ctx, req); err != nil || !bytes.Equal(data, file) {
		t.Fatalf("download: %d bytes, %v", len(data), err)
	}
	if got := len(w.srv.MediaRetries()); got != 0 {
		t.Fatalf("%d media retries for a file the host has", got)
	}

	w.srv.ExpireMedia(up.DirectPath, 404)
	if data, err := o.DownloadMedia(ctx, req); err != nil || !bytes.Equal(data, file) {
		t.Fatalf("download after expiry: %d bytes, %v", len(data), err)
	}
	retries := w.srv.MediaRetries()
	if len(retries) != 1 || !retries[0].Answered || retries[0].MessageID != sent.ID || retries[0].Chat != carol.JID() {
		t.Fatalf("media retries %+v", retries)
	}

	// The phone deleted it too: gone everywhere.
	carol.DeleteMedia(sent.ID)
	if _, err := o.DownloadMedia(ctx, req); !errors.Is(err, engine.ErrMediaGone) {
		t.Fatalf("download of a file gone everywhere: %v", err)
	}
	if retries := w.srv.MediaRetries(); len(retries) != 2 || retries[1].Answered {
		t.Fatalf("media retries %+v", retries)
	}
	// A malformed reference is refused without a request.
	if _, err := o.DownloadMedia(ctx, engine.MediaRequest{Ref: "wm1:not-base64!"}); !errors.Is(err, engine.ErrInvalidContent) {
		t.Fatalf("bad ref: %v", err)
	}
}

// A call offer arrives as a Call event with its caller and kind; the
// session rejects it (a <call><reject/></call> to the caller) and the
// caller's hang-up arrives as a terminate.
func TestCallOfferRejected(t *testing.T) {
	w := newWorld(t, Options{})
	carol, err := w.srv.AddPeer(fakewa.PeerOptions{Phone: carolPhone})
	if err != nil {
		t.Fatal(err)
	}
	o := w.connectStored("15551234567", 4, engine.SessionConfig{})
	ctx := ctxT(t)
	n := len(o.rec.all())
	callID, err := carol.Call(o.acct, true)
	if err != nil {
		t.Fatal(err)
	}
	ev, i := o.rec.wait(t, n, wait, isType[engine.Call])
	c := ev.(engine.Call)
	if c.ID != callID || c.Status != engine.CallOffer || !c.Video || c.Group || c.From != carol.JID().String() || c.Chat != c.From || c.Time.IsZero() {
		t.Fatalf("offer %+v", c)
	}
	if err := o.RejectCall(ctx, c.From, c.ID); err != nil {
		t.Fatal(err)
	}
	rej, err := w.srv.WaitClientCall(ctx, func(cc fakewa.ClientCall) bool { return cc.CallID == callID })
	if err != nil || rej.Action != "reject" || rej.To != carol.JID() || rej.Creator != carol.JID() {
		t.Fatalf("reject stanza %+v: %v", rej, err)
	}
	if err := carol.EndCall(o.acct, callID, "reject"); err != nil {
		t.Fatal(err)
	}
	ev, _ = o.rec.wait(t, i+1, wait, isType[engine.Call])
	if c := ev.(engine.Call); c.ID != callID || c.Status != engine.CallTerminate || c.Reason != "reject" {
		t.Fatalf("terminate %+v", c)
	}
	if _, err := o.CallLink(ctx, true); !errors.Is(err, engine.ErrUnsupported) {
		t.Fatalf("CallLink: %v", err)
	}
}

// A poll the session sent gets a vote, encrypted with the poll's secret:
// it arrives decrypted, as the hashes of the chosen options.
func TestPollVoteDecrypted(t *testing.T) {
	w := newWorld(t, Options{})
	carol, err := w.srv.AddPeer(fakewa.PeerOptions{Phone: carolPhone})
	if err != nil {
		t.Fatal(err)
	}
	o := w.connectStored("15551234567", 4, engine.SessionConfig{})
	ctx := ctxT(t)
	sent, err := o.Send(ctx, carolPhone, engine.Content{Kind: engine.KindPoll, Poll: &engine.Poll{Title: "Lunch?", Options: []string{"pizza", "sushi", "salad"}}})
	if err != nil {
		t.Fatal(err)
	}
	poll, err := carol.Wait(ctx, func(r fakewa.Received) bool { return r.ID == sent.ID })
	if err != nil {
		t.Fatal(err)
	}
	n := len(o.rec.all())
	vote, err := carol.Vote(o.acct, poll, []string{"sushi", "salad"})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := o.rec.wait(t, n, wait, func(ev engine.Event) bool { m, ok := ev.(engine.Message); return ok && m.ID == vote.ID })
	m := ev.(engine.Message)
	v := m.Content.PollVote
	if m.Content.Kind != engine.KindPollVote || v == nil || v.PollID != sent.ID || m.Sender != carol.JID().String() || len(v.OptionHashes) != 2 {
		t.Fatalf("vote %+v", m)
	}
	for i, name := range []string{"sushi", "salad"} {
		if h := sha256.Sum256([]byte(name)); !bytes.Equal(v.OptionHashes[i], h[:]) {
			t.Fatalf("option %d is not %q", i, name)
		}
	}
}

// A voice note goes out as a push-to-talk Opus file with its waveform and
// length; what the recipient's phone gets says so.
func TestVoiceNoteSentWithWaveform(t *testing.T) {
	w := newWorld(t, Options{})
	carol, err := w.srv.AddPeer(fakewa.PeerOptions{Phone: carolPhone})
	if err != nil {
		t.Fatal(err)
	}
	o := w.connectStored("15551234567", 4, engine.SessionConfig{})
	ctx := ctxT(t)
	wave := bytes.Repeat([]byte{10, 90}, 32)
	ogg := append([]byte("OggS"), make([]byte, 100)...)
	sent, err := o.Send(ctx, carolPhone, engine.Content{Kind: engine.KindVoice, Media: &engine.Media{Data: ogg,
		MimeType: "audio/ogg; codecs=opus", Seconds: 3, Waveform: wave}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := carol.Wait(ctx, func(r fakewa.Received) bool { return r.ID == sent.ID })
	if err != nil {
		t.Fatal(err)
	}
	a := got.Message.GetAudioMessage()
	if a == nil || !a.GetPTT() || a.GetMimetype() != "audio/ogg; codecs=opus" || a.GetSeconds() != 3 || !bytes.Equal(a.GetWaveform(), wave) {
		t.Fatalf("audio message %v", got.Message)
	}
}

// A reaction that arrives encrypted with the secret of the message it
// targets comes out as a plain reaction.
func TestEncryptedReactionDecrypted(t *testing.T) {
	w := newWorld(t, Options{})
	carol, err := w.srv.AddPeer(fakewa.PeerOptions{Phone: carolPhone})
	if err != nil {
		t.Fatal(err)
	}
	o := w.connectStored("15551234567", 4, engine.SessionConfig{})
	secret := bytes.Repeat([]byte{7}, 32)
	n := len(o.rec.all())
	target, err := carol.Send(o.acct, &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("announcement")},
		MessageContextInfo: &waE2E.MessageContextInfo{MessageSecret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	o.rec.wait(t, n, wait, func(ev engine.Event) bool { m, ok := ev.(engine.Message); return ok && m.ID == target.ID })
	r, err := carol.ReactEncrypted(o.acct, target.ID, secret, "🎉")
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := o.rec.wait(t, n, wait, func(ev engine.Event) bool { m, ok := ev.(engine.Message); return ok && m.ID == r.ID })
	m := ev.(engine.Message)
	if m.Content.Kind != engine.KindReaction || m.Content.Reaction == nil || m.Content.Reaction.TargetID != target.ID ||
		m.Content.Reaction.Emoji != "🎉" || m.Sender != carol.JID().String() {
		t.Fatalf("reaction %+v", m)
	}
}

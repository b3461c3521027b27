package fakewa

import (
	"bytes"
	"compress/zlib"
	"fmt"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"google.golang.org/protobuf/proto"
)

// HistorySync makes what an account's phone sends a newly linked device
// to give it past chats: hs compressed and uploaded to the media host, and
// the protocol message announcing it. Send it to the device with the
// account's own phone (Server.OwnPhone).
func (s *Server) HistorySync(hs *waHistorySync.HistorySync) (*waE2E.Message, error) {
	raw, err := proto.Marshal(hs)
	if err != nil {
		return nil, fmt.Errorf("fakewa: marshal history: %w", err)
	}
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	if _, err := w.Write(raw); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	up, err := s.Upload(z.Bytes(), wm.MediaHistory)
	if err != nil {
		return nil, err
	}
	n := &waE2E.HistorySyncNotification{
		FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength), MediaKey: up.MediaKey,
		FileEncSHA256: up.FileEncSHA256, DirectPath: proto.String(up.DirectPath),
		SyncType: waE2E.HistorySyncType(hs.GetSyncType()).Enum(), ChunkOrder: hs.ChunkOrder,
	}
	return &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type: waE2E.ProtocolMessage_HISTORY_SYNC_NOTIFICATION.Enum(), HistorySyncNotification: n}}, nil
}

// OwnPhone is the account's phone as a sender to its linked devices
// (device 0 of its own number): what it sends is the account's own
// (IsFromMe), as history sync notices are.
func (s *Server) OwnPhone(a *Account) *Peer {
	return s.Peer(a.phone)
}

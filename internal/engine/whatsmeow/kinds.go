package whatsmeow

import (
	"fmt"
	"math"
	"strings"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/internal/engine"
)

// checkExtra checks a live location or a contact list to send.
func checkExtra(c engine.Content) error {
	switch c.Kind {
	case engine.KindLiveLocation:
		l := c.LiveLocation
		if l == nil {
			return errf("live location without coordinates")
		}
		if math.IsNaN(l.Latitude) || math.IsNaN(l.Longitude) || l.Latitude < -90 || l.Latitude > 90 || l.Longitude < -180 || l.Longitude > 180 {
			return errf("coordinates out of range (%v, %v)", l.Latitude, l.Longitude)
		}
		if l.Accuracy < 0 || l.Speed < 0 || l.Degrees < 0 || l.Sequence < 0 || l.TimeOffset < 0 {
			return errf("negative live location fields")
		}
	case engine.KindContactList:
		if len(c.Contacts) == 0 || len(c.Contacts) > engine.MaxContactList {
			return errf("a contact list has 1 to %d contacts", engine.MaxContactList)
		}
		for _, k := range c.Contacts {
			if !strings.Contains(strings.ToUpper(k.VCard), "BEGIN:VCARD") {
				return errf("a contact of the list has no vCard")
			}
		}
	}
	return nil
}

func errf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidContent, fmt.Sprintf(format, args...))
}

// extraMessage is the message of a live location or a contact list.
func extraMessage(o outgoing, ci *waE2E.ContextInfo) *waE2E.Message {
	if l := o.LiveLocation; l != nil {
		return &waE2E.Message{LiveLocationMessage: &waE2E.LiveLocationMessage{
			DegreesLatitude:                   proto.Float64(l.Latitude),
			DegreesLongitude:                  proto.Float64(l.Longitude),
			AccuracyInMeters:                  optUint32(l.Accuracy),
			SpeedInMps:                        optFloat32(l.Speed),
			DegreesClockwiseFromMagneticNorth: optUint32(l.Degrees),
			Caption:                           optString(l.Caption),
			SequenceNumber:                    proto.Int64(l.Sequence),
			TimeOffset:                        optUint32(l.TimeOffset),
			ContextInfo:                       ci,
		}}
	}
	cards := make([]*waE2E.ContactMessage, len(o.Contacts))
	for i, k := range o.Contacts {
		name := k.Name
		if name == "" {
			name = vcardName(k.VCard)
		}
		cards[i] = &waE2E.ContactMessage{DisplayName: proto.String(name), Vcard: proto.String(k.VCard)}
	}
	display := cards[0].GetDisplayName()
	if len(cards) > 1 {
		display = fmt.Sprintf("%s and %d other contacts", display, len(cards)-1)
	}
	return &waE2E.Message{ContactsArrayMessage: &waE2E.ContactsArrayMessage{
		DisplayName: proto.String(display), Contacts: cards, ContextInfo: ci,
	}}
}

func optFloat32(f float64) *float32 {
	if f == 0 {
		return nil
	}
	return proto.Float32(float32(f))
}

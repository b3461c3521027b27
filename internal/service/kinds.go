package service

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/engine"
)

// checkSendExtra checks the send requests of the newer kinds
// (live_location, contact_list) and fills their content.
func checkSendExtra(r SendRequest, c *engine.Content) error {
	switch r.Kind {
	case engine.KindLiveLocation:
		if r.Latitude == nil || r.Longitude == nil {
			return invalid("latitude", "latitude and longitude are required")
		}
		if math.IsNaN(*r.Latitude) || *r.Latitude < -90 || *r.Latitude > 90 {
			return invalid("latitude", "must be between -90 and 90")
		}
		if math.IsNaN(*r.Longitude) || *r.Longitude < -180 || *r.Longitude > 180 {
			return invalid("longitude", "must be between -180 and 180")
		}
		if r.Accuracy < 0 {
			return invalid("accuracy", "must not be negative")
		}
		if r.Speed < 0 || math.IsNaN(r.Speed) {
			return invalid("speed", "must not be negative")
		}
		if r.Degrees < 0 || r.Degrees > 359 {
			return invalid("degrees", "must be 0 to 359")
		}
		if r.Sequence < 0 || r.TimeOffset < 0 {
			return invalid("sequence_number", "sequence_number and time_offset must not be negative")
		}
		if err := checkText("caption", r.Caption, false, MaxCaptionLength); err != nil {
			return err
		}
		c.LiveLocation = &engine.LiveLocation{Latitude: *r.Latitude, Longitude: *r.Longitude, Accuracy: r.Accuracy,
			Speed: r.Speed, Degrees: r.Degrees, Caption: r.Caption, Sequence: r.Sequence, TimeOffset: r.TimeOffset}
		c.Text = r.Caption
	case engine.KindContactList:
		if len(r.List) == 0 {
			return invalid("list", "is required: at least one contact {name, vcard}")
		}
		if len(r.List) > engine.MaxContactList {
			return invalid("list", "must have at most %d contacts", engine.MaxContactList)
		}
		for i, card := range r.List {
			field := fmt.Sprintf("list[%d]", i)
			if err := checkText(field+".name", card.Name, true, 256); err != nil {
				return err
			}
			if strings.TrimSpace(card.VCard) == "" || utf8.RuneCountInString(card.VCard) > 10000 || !utf8.ValidString(card.VCard) {
				return invalid(field+".vcard", "is required: a vCard of at most 10000 characters")
			}
			if v := strings.ToUpper(strings.TrimSpace(card.VCard)); !strings.HasPrefix(v, "BEGIN:VCARD") || !strings.HasSuffix(v, "END:VCARD") {
				return invalid(field+".vcard", "must be a vCard (BEGIN:VCARD ... END:VCARD)")
			}
		}
		c.Contacts = append([]engine.ContactCard(nil), r.List...)
	}
	return nil
}

// extraContent is the stored content of the newer kinds.
func extraContent(obj kindObject, c engine.Content) {
	switch {
	case c.LiveLocation != nil:
		l := c.LiveLocation
		obj["latitude"], obj["longitude"] = l.Latitude, l.Longitude
		for k, v := range map[string]int64{"accuracy": int64(l.Accuracy), "degrees": int64(l.Degrees), "sequence_number": l.Sequence,
			"time_offset": int64(l.TimeOffset)} {
			if v != 0 {
				obj[k] = v
			}
		}
		if l.Speed != 0 {
			obj["speed"] = l.Speed
		}
		if l.Caption != "" {
			obj["caption"] = l.Caption
		}
	case c.Contacts != nil:
		list := make([]map[string]string, len(c.Contacts))
		for i, card := range c.Contacts {
			list[i] = map[string]string{"name": card.Name, "vcard": card.VCard}
		}
		obj["list"] = list
	}
}

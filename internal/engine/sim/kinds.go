package sim

import (
	"fmt"
	"math"
	"slices"

	"github.com/wagate/wagate/internal/engine"
)

// checkExtraContent checks a live location or a contact list.
func checkExtraContent(c, out engine.Content) (engine.Content, error) {
	switch c.Kind {
	case engine.KindLiveLocation:
		l := c.LiveLocation
		switch {
		case l == nil:
			return c, fmt.Errorf("%w: a live location message needs LiveLocation", ErrInvalidContent)
		case math.IsNaN(l.Latitude) || l.Latitude < -90 || l.Latitude > 90:
			return c, fmt.Errorf("%w: latitude %v is not within -90 and 90", ErrInvalidContent, l.Latitude)
		case math.IsNaN(l.Longitude) || l.Longitude < -180 || l.Longitude > 180:
			return c, fmt.Errorf("%w: longitude %v is not within -180 and 180", ErrInvalidContent, l.Longitude)
		case l.Accuracy < 0 || l.Speed < 0 || l.Degrees < 0 || l.Degrees > 359 || l.Sequence < 0 || l.TimeOffset < 0:
			return c, fmt.Errorf("%w: live location accuracy, speed, degrees, sequence and offset must not be negative", ErrInvalidContent)
		}
		if err := checkCaption(l.Caption); err != nil {
			return c, err
		}
		loc := *l
		out.LiveLocation, out.Text = &loc, l.Caption
		return out, nil
	case engine.KindContactList:
		if len(c.Contacts) == 0 || len(c.Contacts) > engine.MaxContactList {
			return c, fmt.Errorf("%w: a contact list has 1 to %d contacts", ErrInvalidContent, engine.MaxContactList)
		}
		for _, k := range c.Contacts {
			if err := checkShort("contact name", k.Name, true); err != nil {
				return c, err
			}
			if k.VCard == "" {
				return c, fmt.Errorf("%w: a contact of the list has no vCard", ErrInvalidContent)
			}
		}
		if c.Text != "" {
			return c, fmt.Errorf("%w: a contact list has no text", ErrInvalidContent)
		}
		out.Contacts = slices.Clone(c.Contacts)
		return out, nil
	}
	return c, fmt.Errorf("%w: kind %q", ErrInvalidContent, c.Kind)
}

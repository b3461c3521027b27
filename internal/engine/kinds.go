package engine

// Kinds beyond the first ones: a round video note, a live location and a
// list of contacts.
const (
	// KindShort is a short round video ("video note", WhatsApp's PTV):
	// Content.Media, an MP4.
	KindShort = "short"
	// KindLiveLocation is a live location: Content.LiveLocation.
	KindLiveLocation = "live_location"
	// KindContactList is several contacts in one message: Content.Contacts.
	KindContactList = "contact_list"
)

// LiveLocation is a position shared live (one update of it).
type LiveLocation struct {
	Latitude, Longitude float64
	Accuracy            int     // meters
	Speed               float64 // meters per second
	Degrees             int     // clockwise from north
	Caption             string
	Sequence            int64
	TimeOffset          int // seconds since the sharing began
}

// MaxContactList is the most contacts one contact_list message carries.
const MaxContactList = 100

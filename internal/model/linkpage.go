package model

import "time"

// LinkPage is a hosted linking page: a signed link a partner hands to its
// customer, who opens it (no login) to link a phone to one channel.
type LinkPage struct {
	ID        string    `json:"id"`
	PartnerID string    `json:"partnerId"`
	ChannelID string    `json:"channelId"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	// KeepAfterLink keeps the page working once a phone is linked (it
	// stops working then by default).
	KeepAfterLink bool `json:"keepAfterLink,omitempty"`
	// Branding shown on the page; all optional.
	BrandName  string `json:"brandName,omitempty"`
	BrandLogo  string `json:"brandLogo,omitempty"`
	BrandColor string `json:"brandColor,omitempty"`
	// RevokedAt is set when the partner revoked the link.
	RevokedAt time.Time `json:"revokedAt,omitzero"`
	// LinkedAt is when the page first saw its channel linked.
	LinkedAt time.Time `json:"linkedAt,omitzero"`
}

package engine

import "context"

// ContactBook is a session that keeps the account's address book (the
// names the phone saved users under), through WhatsApp's app state.
type ContactBook interface {
	// SaveContact saves (or renames) a user (a user JID) under a name.
	SaveContact(ctx context.Context, user, name string) error
	// DeleteContact removes a user from the address book.
	DeleteContact(ctx context.Context, user string) error
}

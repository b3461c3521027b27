package engine

import "context"

// ProfilePhotoSetter is a session that changes the account's own profile
// picture.
type ProfilePhotoSetter interface {
	// SetProfilePhoto sets the account's picture (a JPEG); nil removes it.
	SetProfilePhoto(ctx context.Context, jpeg []byte) error
}

package model

import (
	"bytes"
	"encoding/json"
)

// Optional tells an absent JSON field from an explicit null, for patches
// where null means "reset": Set is true when the field was present, and
// Value is nil when it was null.
type Optional[T any] struct {
	Set   bool
	Value *T
}

// UnmarshalJSON records presence and decodes the value. A type mismatch is
// returned as the decoder's own *json.UnmarshalTypeError, so it is reported
// with the field's name.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.Value = &v
	return nil
}

package admin

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/wagate/wagate/internal/httpx"
)

// optionalInt tells an absent JSON field from an explicit null: Set is true
// when the field was present, Value is nil when it was null.
type optionalInt struct {
	Set   bool
	Value *int
}

func (o *optionalInt) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.Value = nil
		return nil
	}
	var v int
	if err := json.Unmarshal(b, &v); err != nil {
		return httpx.Errorf(http.StatusBadRequest, "trial_days: must be a whole number or null")
	}
	o.Value = &v
	return nil
}

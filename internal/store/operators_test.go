package store_test

import (
	"testing"

	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

// TestOperators: named operators are unique by name, read back by name and
// ID, and a TOTP time step is taken once (a replay or an older step is
// refused), on both databases.
func TestOperators(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		o := store.Operator{ID: "op1", Name: "alice", PasswordHash: "h", TOTPSecret: "S", CreatedAt: t0, CreatedBy: "cli"}
		noErr(t, "create", st.CreateOperator(bg(), o))
		wantErr(t, "same name", st.CreateOperator(bg(), store.Operator{ID: "op2", Name: "alice", PasswordHash: "h", CreatedAt: t0}), model.ErrConflict)
		got, err := st.OperatorByName(bg(), "alice")
		noErr(t, "by name", err)
		if got != o {
			t.Errorf("operator = %+v, want %+v", got, o)
		}
		if got, err := st.OperatorByID(bg(), "op1"); err != nil || got.Name != "alice" {
			t.Errorf("by ID = %+v, %v", got, err)
		}
		_, err = st.OperatorByName(bg(), "bob")
		wantErr(t, "unknown", err, model.ErrNotFound)
		for _, tc := range []struct {
			step int64
			ok   bool
		}{{100, true}, {100, false}, {99, false}, {101, true}, {101, false}} {
			ok, err := st.UseTOTPStep(bg(), "op1", tc.step)
			noErr(t, "use step", err)
			if ok != tc.ok {
				t.Errorf("step %d taken %v, want %v", tc.step, ok, tc.ok)
			}
		}
		list, err := st.Operators(bg())
		noErr(t, "list", err)
		if len(list) != 1 || list[0].TOTPLastStep != 101 {
			t.Errorf("operators = %+v", list)
		}
	})
}

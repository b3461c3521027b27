package store_test

import (
	"context"
	"testing"

	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/store/storetest"
)

func TestMigrateTwice(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		n, err := st.Migrate(context.Background())
		if err != nil || n != 0 {
			t.Fatalf("second migrate: applied %d, err %v", n, err)
		}
		v, err := st.Version(context.Background())
		if err != nil || v != store.SchemaVersion() {
			t.Fatalf("version %d err %v, want %d", v, err, store.SchemaVersion())
		}
	})
}

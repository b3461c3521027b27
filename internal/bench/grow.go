package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/wagate/wagate/internal/ids"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// The data that grows section (issue 17): GrowMessages stored messages over
// GrowChannels channels, seeded by bulk inserts through the server's own
// database handle (channels made through the store, as after their
// creation through the API), then GET /messages/list and GET /chats of
// random channels, the send on top of that volume, and the size on disk
// per message.

// Defaults of the data that grows section.
const (
	DefaultGrowMessages = 1_000_000
	GrowChannels        = 1_000
	growChats           = 20
	// GoalListP99ms is issue 17's bound on a listing's p99 with 1,000,000
	// stored messages; GoalGrowSendP99 the send p99's against an empty
	// database's (the send section's).
	GoalListP99ms   = 20.0
	GoalGrowSendP99 = 1.5
)

// GrowReport is the data that grows section.
type GrowReport struct {
	Messages    int     `json:"messages"`
	Channels    int     `json:"channels"`
	SeedSeconds float64 `json:"seed_seconds"`
	// BytesPerMessage is the database's growth (its messages and chats
	// tables with their indexes on PostgreSQL, the file on SQLite) over
	// the messages seeded.
	BytesPerMessage float64 `json:"bytes_per_message"`
	// List is GET /messages/list?count=100, Chats GET /chats?count=100, of
	// random seeded channels; Send is POST /messages/text on the live
	// channels on top of the volume.
	List  Load `json:"list"`
	Chats Load `json:"chats"`
	Send  Load `json:"send"`
	// SendP99Ratio is Send.P99ms over the send section's p99 (an emptier
	// database), 0 when that did not run.
	SendP99Ratio float64 `json:"send_p99_ratio"`
}

func (e *env) benchGrow(ctx context.Context, empty *SendReport) (*GrowReport, error) {
	if err := e.setupLive(ctx); err != nil {
		return nil, err
	}
	total := e.o.GrowMessages
	nch := min(GrowChannels, max(total/100, 1))
	rep := &GrowReport{Messages: total, Channels: nch}
	st := e.srv.Service().Store()
	e.prog.stepf("grow: %d channels, then %d messages over them (bulk inserts)", nch, total)
	before, err := dbSize(ctx, st)
	if err != nil {
		return rep, err
	}
	t0 := time.Now()
	tokens, chans, err := growChannels(ctx, st, nch)
	if err != nil {
		return rep, err
	}
	if err := seedGrow(ctx, st, chans, total, func(n int) { e.prog.tickf("%d messages", n) }); err != nil {
		return rep, err
	}
	rep.SeedSeconds = time.Since(t0).Seconds()
	if st.Dialect() == store.Postgres {
		// The seed's hundreds of megabytes of dirty buffers would be
		// written out by the checkpointer during the measurements; months
		// of traffic have long been checkpointed.
		if _, err := st.DB().ExecContext(ctx, "CHECKPOINT"); err != nil {
			e.notes = append(e.notes, "grow: no CHECKPOINT after the seed ("+err.Error()+"): the checkpointer may write it out during the measurements")
		}
	}
	after, err := dbSize(ctx, st)
	if err != nil {
		return rep, err
	}
	rep.BytesPerMessage = float64(after-before) / float64(total)

	window := max(e.o.share(SectionGrow)/3, time.Second)
	get := func(path string) Op {
		return func(ctx context.Context, _, _ int) error {
			code, raw, err := e.api.do(ctx, "GET", path, tokens[rand.IntN(len(tokens))], nil)
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("GET %s: HTTP %d: %.200s", path, code, raw)
			}
			return err
		}
	}
	e.prog.stepf("grow: GET /messages/list of random channels, %d clients, %s", e.o.Clients, window.Round(time.Millisecond))
	Drive(ctx, e.o.Clients, window/4, 0, get("/messages/list?count=100"), nil)
	stop, stopStats := e.profile("grow-list"), e.pgStats(ctx, "grown listing")
	rep.List = Drive(ctx, e.o.Clients, window, 0, get("/messages/list?count=100"), func(n int) { e.prog.tickf("%d listings", n) })
	stopStats()
	stop()
	e.prog.stepf("grow: GET /chats of random channels, %s", (window / 2).Round(time.Millisecond))
	rep.Chats = Drive(ctx, e.o.Clients, window/2, 0, get("/chats?count=100"), nil)
	e.prog.stepf("grow: send on top of %d messages, %s", total, window.Round(time.Millisecond))
	rep.Send = Drive(ctx, e.o.Clients, window, 0, func(ctx context.Context, worker, n int) error {
		_, err := e.sendText(ctx, worker, n)
		return err
	}, func(n int) { e.prog.tickf("%d messages", n) })
	if empty != nil {
		rep.SendP99Ratio = ratio(rep.Send.P99ms, empty.Wagate.P99ms)
	}
	return rep, nil
}

// growChannels makes n live channels of a partner of their own through
// the store and returns their tokens and IDs.
func growChannels(ctx context.Context, st *store.Store, n int) ([]string, []string, error) {
	now := time.Now()
	p := model.Partner{ID: ids.PartnerID(), Name: "grow_" + randHex(4), Email: "grow-" + randHex(4) + "@example.test",
		TokenHash: ids.Hash(ids.PartnerToken()), TrialDays: -1, CreatedAt: now}
	if err := st.CreatePartner(ctx, p, 0, "bench"); err != nil {
		return nil, nil, err
	}
	tokens, chans := make([]string, n), make([]string, n)
	for i := range n {
		tok := ids.ChannelToken()
		ch := model.Channel{ID: ids.ChannelID(), PartnerID: p.ID, ProjectID: model.DefaultProjectID, Name: "grow" + strconv.Itoa(i),
			Token: tok, Mode: model.ModeLive, CreatedAt: now, TrialUntil: now, ActiveTill: now.Add(30 * 24 * time.Hour), Stopped: true}
		if err := st.CreateChannel(ctx, ch, ids.Hash(tok), store.CreateLimit{}, now); err != nil {
			return nil, nil, err
		}
		tokens[i], chans[i] = tok, ch.ID
	}
	return tokens, chans, nil
}

// seedGrow inserts total messages over channels (growChats chats each,
// a message a minute back from now), 500 a transaction, and the chats.
func seedGrow(ctx context.Context, st *store.Store, chans []string, total int, tick func(int)) error {
	const batch = 500
	run := &storageRun{db: st.DB(), pg: st.Dialect() == store.Postgres}
	q := run.q(`INSERT INTO messages (channel_id, id, chat_id, from_me, type, source, status, status_rank, body, content, ts, seq) VALUES ` +
		rows(batch, "(?, ?, ?, ?, 'text', 'mobile', 'delivered', 2, ?, ?, ?, ?)"))
	now := time.Now().UnixMilli()
	perChannel := (total + len(chans) - 1) / len(chans)
	last := time.Now()
	for done := 0; done < total; done += batch {
		args := make([]any, 0, batch*8)
		for i := range batch {
			// Channels interleaved, as months of traffic arrive: a
			// channel's rows are spread over the whole table.
			n := done + i
			ch, k := n%len(chans), n/len(chans)
			body := "grown message " + strconv.Itoa(n)
			args = append(args, chans[ch], "g"+strconv.Itoa(n)+randHex(4), "1555600"+fmt.Sprintf("%04d", k%growChats)+"@s.whatsapp.net",
				n%2 == 0, body, `{"body":"`+body+`"}`, now-int64(perChannel-k)*60_000, k+1)
		}
		// Through the store's write queue: on SQLite, writers that waited
		// on the busy timeout beside back-to-back seed transactions starved
		// ("database is locked" after 10 s).
		if err := st.Tx(ctx, func(tx *sql.Tx) error { _, err := tx.ExecContext(ctx, q, args...); return err }); err != nil {
			return fmt.Errorf("seed messages: %w", err)
		}
		if time.Since(last) > time.Second {
			tick(done + batch)
			last = time.Now()
		}
	}
	// The chats, with their last message's time.
	cq := run.q(`INSERT INTO chats (channel_id, id, type, last_ts) VALUES ` + rows(growChats, "(?, ?, 'contact', ?)"))
	for _, ch := range chans {
		args := make([]any, 0, growChats*3)
		for c := range growChats {
			args = append(args, ch, "1555600"+fmt.Sprintf("%04d", c)+"@s.whatsapp.net", now)
		}
		if _, err := st.DB().ExecContext(ctx, cq, args...); err != nil {
			return fmt.Errorf("seed chats: %w", err)
		}
	}
	if st.Dialect() == store.Postgres {
		// As autovacuum would have by the time a table holds months of
		// traffic: statistics, and the visibility map that lets a count
		// read the index alone (without it, autovacuum's first pass over
		// the freshly loaded table ran during the measurements).
		if _, err := st.DB().ExecContext(ctx, "VACUUM (ANALYZE) messages, chats"); err != nil {
			return err
		}
	}
	return nil
}

// dbSize is the database's size: on SQLite its pages in use (the WAL
// checkpointed first; free pages left by pruning are not counted), on
// PostgreSQL its messages and chats tables with their indexes.
func dbSize(ctx context.Context, st *store.Store) (int64, error) {
	var n int64
	if st.Dialect() == store.Postgres {
		err := st.DB().QueryRowContext(ctx, "SELECT pg_total_relation_size('messages') + pg_total_relation_size('chats')").Scan(&n)
		return n, err
	}
	if _, err := st.DB().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return 0, err
	}
	var pages, free, size int64
	if err := st.DB().QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return 0, err
	}
	if err := st.DB().QueryRowContext(ctx, "PRAGMA freelist_count").Scan(&free); err != nil {
		return 0, err
	}
	if err := st.DB().QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
		return 0, err
	}
	return (pages - free) * size, nil
}

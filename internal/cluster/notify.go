package cluster

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wagate/wagate/internal/store"
)

// notifyChannel is the NOTIFY channel of the cluster: one per database
// schema, so that clusters sharing a PostgreSQL server (in schemas of
// their own) do not hear each other.
func notifyChannel(ctx context.Context, st *store.Store) (string, error) {
	var schema string
	if err := st.DB().QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return "", err
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(schema))
	return fmt.Sprintf("wagate_cluster_%016x", h.Sum64()), nil
}

// Announcement payloads are "<origin node>|<kind>|<id>": kind c is a
// channel's row, p a partner's settings, o the operator's settings, s the
// shard table.
const (
	kindChannel  = "c"
	kindPartner  = "p"
	kindOperator = "o"
	kindShards   = "s"
)

// notifier sends the store's changes to the other nodes and applies
// theirs.
type notifier struct {
	n     *Node
	queue chan string
	// missed is set when announcements may have been lost (queue full, the
	// LISTEN connection dropped): the next pass reconciles.
	missed atomic.Bool
	wg     sync.WaitGroup
	cancel context.CancelFunc
}

func newNotifier(n *Node) *notifier {
	return &notifier{n: n, queue: make(chan string, 10_000)}
}

// start subscribes to the store's changes and starts the publisher and the
// listener.
func (nt *notifier) start(ctx context.Context) error {
	ctx, nt.cancel = context.WithCancel(ctx)
	conn, err := pgx.Connect(ctx, nt.n.o.DSN)
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+nt.n.channel); err != nil {
		conn.Close(context.Background())
		return err
	}
	nt.n.o.Store.OnChange(func(c store.Change) {
		if p := nt.payload(c); p != "" {
			select {
			case nt.queue <- p:
			default:
				nt.missed.Store(true)
			}
		}
	})
	nt.wg.Add(2)
	go func() {
		defer nt.wg.Done()
		nt.publish(ctx)
	}()
	go func() {
		defer nt.wg.Done()
		nt.listen(ctx, conn)
	}()
	return nil
}

func (nt *notifier) close() {
	if nt.cancel != nil {
		nt.cancel()
	}
	nt.wg.Wait()
}

func (nt *notifier) payload(c store.Change) string {
	origin := nt.n.o.NodeID + "|"
	switch {
	case c.ChannelID != "":
		return origin + kindChannel + "|" + c.ChannelID
	case c.PartnerID != "":
		return origin + kindPartner + "|" + c.PartnerID
	case c.Operator:
		return origin + kindOperator + "|"
	}
	return ""
}

// publish sends queued announcements, several per statement.
func (nt *notifier) publish(ctx context.Context) {
	for {
		var batch []string
		select {
		case <-ctx.Done():
			return
		case p := <-nt.queue:
			batch = append(batch, p)
		}
		seen := map[string]bool{batch[0]: true}
	more:
		for len(batch) < 500 {
			select {
			case p := <-nt.queue:
				if !seen[p] {
					seen[p] = true
					batch = append(batch, p)
				}
			default:
				break more
			}
		}
		if err := nt.send(ctx, batch); err != nil && ctx.Err() == nil {
			nt.n.o.Log.Warn("cluster: announcements not sent; other nodes catch up at their next reconcile", "count", len(batch), "error", err)
		}
	}
}

func (nt *notifier) send(ctx context.Context, payloads []string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := nt.n.o.Store.DB().ExecContext(ctx, "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", nt.n.channel, payloads)
	return err
}

// publishShards tells every node that the shard table changed.
func (nt *notifier) publishShards(ctx context.Context) {
	nt.publishShardsWith(ctx, nt.n.o.Store)
}

func (nt *notifier) publishShardsWith(ctx context.Context, st *store.Store) {
	if err := nt.sendWith(ctx, st, nt.n.o.NodeID+"|"+kindShards+"|"); err != nil && ctx.Err() == nil {
		nt.n.o.Log.Warn("cluster: shard change not announced; nodes see it at their next heartbeat", "error", err)
	}
}

func (nt *notifier) sendWith(ctx context.Context, st *store.Store, payload string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := st.DB().ExecContext(ctx, "SELECT pg_notify($1, $2)", nt.n.channel, payload)
	return err
}

// listen applies the other nodes' announcements, reconnecting when the
// connection drops.
func (nt *notifier) listen(ctx context.Context, conn *pgx.Conn) {
	backoff := 100 * time.Millisecond
	for {
		if conn == nil {
			var err error
			conn, err = pgx.Connect(ctx, nt.n.o.DSN)
			if err == nil {
				if _, err = conn.Exec(ctx, "LISTEN "+nt.n.channel); err != nil {
					conn.Close(context.Background())
					conn = nil
				}
			}
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				nt.n.o.Log.Warn("cluster: announcement connection failed; retrying", "error", err, "in", backoff)
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(backoff*2, 5*time.Second)
				continue
			}
			backoff = 100 * time.Millisecond
			nt.missed.Store(true) // what came while we were away
			nt.n.kick()
		}
		msg, err := conn.WaitForNotification(ctx)
		if err != nil {
			conn.Close(context.Background())
			conn = nil
			if ctx.Err() != nil {
				return
			}
			continue
		}
		nt.apply(msg.Payload)
	}
}

func (nt *notifier) apply(payload string) {
	origin, rest, ok := strings.Cut(payload, "|")
	if !ok || origin == nt.n.o.NodeID {
		return // our own: already applied here
	}
	kind, id, _ := strings.Cut(rest, "|")
	switch kind {
	case kindShards:
		nt.n.kick()
	case kindChannel:
		nt.n.o.Handler.Changed(store.Change{ChannelID: id})
	case kindPartner:
		nt.n.o.Handler.Changed(store.Change{PartnerID: id})
	case kindOperator:
		nt.n.o.Handler.Changed(store.Change{Operator: true})
	}
}

package partner

import (
	"github.com/wagate/wagate/internal/api/apiutil"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/runtime"
	"github.com/wagate/wagate/internal/store"
	"github.com/wagate/wagate/internal/wire"
)

// counter is one counter of what WhatsApp did to a channel.
type counter struct {
	Count int64 `json:"count"`
	// LastAt is when it last moved (epoch ms); Last what it concerned
	// (the chat of a refused send).
	LastAt int64  `json:"lastAt"`
	Last   string `json:"last,omitempty"`
}

// connection is a channel's connection as GET /partner/channels/{ChannelID}
// shows it: its health as its own GET /health shows it (without waking
// it), and the counters of what WhatsApp did to it.
type connection struct {
	Health   wire.Health        `json:"health"`
	Counters map[string]counter `json:"counters"`
}

// channelDetail is one channel with its connection.
type channelDetail struct {
	apiutil.Channel
	Connection connection `json:"connection"`
}

// counterNames maps the store's counter names to the API's.
var counterNames = map[string]string{
	store.CounterUndecryptable:   "undecryptable",
	store.CounterReachoutRefused: "reachoutRefused",
}

func (h *handler) connection(ch model.Channel, hl runtime.Health, counters map[string]store.Counter) connection {
	out := connection{Health: wire.NewHealth(ch.ID, hl, h.svc.WireServer(), h.svc.Now()), Counters: map[string]counter{}}
	for name, api := range counterNames {
		c := counters[name]
		v := counter{Count: c.Count, Last: c.Info}
		if c.Count > 0 {
			v.LastAt = apiutil.Millis(c.Last)
		}
		out.Counters[api] = v
	}
	return out
}

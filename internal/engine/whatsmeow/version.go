package whatsmeow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"

	"github.com/wagate/wagate/internal/engine"
)

// WhatsApp retires web client versions every few weeks and then refuses
// them with 405 ("client outdated"). The version every client announces is
// process-global in whatsmeow; the engine keeps it current:
//
//   - at start it uses the pinned version (Options.WAVersion), else the
//     last one learned (kept in the database), else whatsmeow's built-in;
//   - then, in the background and every Options.VersionRefresh, it asks
//     WhatsApp's web page for the current one (directly, or through the
//     channels' proxies when the direct route fails), keeps it with when it
//     was learned, and uses it unless a version is pinned;
//   - a session refused as outdated (405, or 409 "bad user agent") asks
//     for a refresh at once (at most one a minute), and a newer version
//     calls Options.OnVersionChange so that the refused channels connect
//     again with it.
//
// Moving to a newer whatsmeow is "go get": its built-in version then is the
// floor; a learned version is used only when it is newer.

// kvVersion is the key the learned version is kept under.
const kvVersion = "whatsmeow.wa_version"

// minRefreshGap bounds how often a refusal triggers a refresh.
const minRefreshGap = time.Minute

// Version sources.
const (
	SourceConfig   = "config"
	SourceWhatsApp = "whatsapp"
	SourceStored   = "stored"
	SourceBuiltin  = "builtin"
)

// builtin is whatsmeow's own version, read before anything changes it.
var builtin = store.GetWAVersion()

// versionMu orders changes of the process-global version against the
// connects that read it (a connect builds its client payload from it).
var versionMu sync.RWMutex

// storedVersion is the learned version as kept in the KV store.
type storedVersion struct {
	Version   string    `json:"version"`
	LearnedAt time.Time `json:"learned_at"`
}

type versionKeeper struct {
	e *Engine

	mu      sync.Mutex
	cur     engine.ClientVersion
	lastTry time.Time // last refresh started
	running bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newVersionKeeper(e *Engine) *versionKeeper {
	ctx, cancel := context.WithCancel(context.Background())
	return &versionKeeper{e: e, ctx: ctx, cancel: cancel}
}

// start sets the version to begin with and starts the refresh loop.
func (k *versionKeeper) start(ctx context.Context) error {
	o := k.e.opts
	cur := engine.ClientVersion{Version: builtin.String(), Source: SourceBuiltin}
	if kv := o.Versions; kv != nil {
		if raw, _, ok, err := kv.GetKV(ctx, kvVersion); err != nil {
			k.e.log.Warn("whatsmeow: could not read the learned WhatsApp version", slog.Any("error", err))
		} else if ok {
			var sv storedVersion
			if err := json.Unmarshal([]byte(raw), &sv); err == nil {
				if v, err := store.ParseVersion(sv.Version); err == nil && builtin.LessThan(v) {
					cur = engine.ClientVersion{Version: v.String(), Source: SourceStored, LearnedAt: sv.LearnedAt, Latest: v.String()}
				}
			}
		}
	}
	if o.WAVersion != "" {
		v, _ := store.ParseVersion(o.WAVersion)
		cur.Version, cur.Source, cur.LearnedAt = v.String(), SourceConfig, time.Time{}
	}
	if err := applyVersion(cur.Version); err != nil {
		return err
	}
	k.mu.Lock()
	k.cur = cur
	k.mu.Unlock()
	if o.VersionRefresh > 0 {
		k.wg.Add(1)
		go k.loop(o.VersionRefresh)
	}
	return nil
}

func (k *versionKeeper) stop() {
	k.cancel()
	k.wg.Wait()
}

func (k *versionKeeper) loop(every time.Duration) {
	defer k.wg.Done()
	t := time.NewTimer(0) // at once, then every period
	defer t.Stop()
	for {
		select {
		case <-k.ctx.Done():
			return
		case <-t.C:
			if _, err := k.refresh(k.ctx); err != nil && k.ctx.Err() == nil {
				k.e.log.Warn("whatsmeow: could not learn the current WhatsApp Web version", slog.Any("error", err))
			}
			t.Reset(every)
		}
	}
}

func (k *versionKeeper) current() engine.ClientVersion {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cur
}

// outdated is called when WhatsApp refused a session's version: refresh
// now, unless a refresh ran within minRefreshGap.
func (k *versionKeeper) outdated() {
	k.mu.Lock()
	due := !k.running && time.Since(k.lastTry) >= minRefreshGap
	k.mu.Unlock()
	if !due || k.ctx.Err() != nil {
		return
	}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		ctx, cancel := context.WithTimeout(k.ctx, time.Minute)
		defer cancel()
		if _, err := k.refresh(ctx); err != nil && k.ctx.Err() == nil {
			k.e.log.Warn("whatsmeow: WhatsApp refused the client version and the current one could not be learned", slog.Any("error", err))
		}
	}()
}

// refresh asks WhatsApp for its current version, keeps it and uses it
// (unless pinned, or not newer than the built-in one).
func (k *versionKeeper) refresh(ctx context.Context) (engine.ClientVersion, error) {
	k.mu.Lock()
	if k.running {
		cur := k.cur
		k.mu.Unlock()
		return cur, errors.New("whatsmeow: a version refresh is already running")
	}
	k.running, k.lastTry = true, time.Now()
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		k.running = false
		k.mu.Unlock()
	}()

	v, err := k.fetch(ctx)
	now := time.Now().UTC()
	k.mu.Lock()
	k.cur.CheckedAt = now
	if err != nil {
		k.cur.CheckError = err.Error()
		cur := k.cur
		k.mu.Unlock()
		return cur, err
	}
	k.cur.CheckError, k.cur.Latest = "", v.String()
	prev := k.cur
	use := prev.Source != SourceConfig && builtin.LessThan(v) && v.String() != prev.Version
	if prev.Source != SourceConfig && builtin.LessThan(v) {
		k.cur.Version, k.cur.Source = v.String(), SourceWhatsApp
		if use || k.cur.LearnedAt.IsZero() {
			k.cur.LearnedAt = now
		}
	}
	cur := k.cur
	k.mu.Unlock()

	if kv := k.e.opts.Versions; kv != nil && builtin.LessThan(v) {
		raw, _ := json.Marshal(storedVersion{Version: v.String(), LearnedAt: cur.LearnedAt})
		if err := kv.SetKV(ctx, kvVersion, string(raw), now); err != nil {
			k.e.log.Warn("whatsmeow: could not keep the learned WhatsApp version", slog.Any("error", err))
		}
	}
	if use {
		if err := applyVersion(cur.Version); err != nil {
			return cur, err
		}
		k.e.log.Info("whatsmeow: announcing a new WhatsApp Web version", slog.String("from", prev.Version), slog.String("to", cur.Version))
		if f := k.e.opts.OnVersionChange; f != nil {
			f(cur)
		}
	}
	return cur, nil
}

// fetch reads the current version from WhatsApp's web page: directly, then
// through each proxy the channels use.
func (k *versionKeeper) fetch(ctx context.Context) (store.WAVersionContainer, error) {
	hc := k.e.opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 20 * time.Second}
	}
	v, err := wm.GetLatestVersion(ctx, hc)
	if err == nil {
		return *v, nil
	}
	errs := []error{fmt.Errorf("direct: %w", err)}
	for i, p := range k.e.proxies() {
		u, perr := url.Parse(p)
		if perr != nil {
			continue
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if base, ok := hc.Transport.(*http.Transport); ok {
			tr = base.Clone()
		}
		tr.Proxy = http.ProxyURL(u)
		pv, perr := wm.GetLatestVersion(ctx, &http.Client{Transport: tr, Timeout: 20 * time.Second})
		if perr == nil {
			return *pv, nil
		}
		// Never the proxy's URL: it may hold credentials.
		errs = append(errs, fmt.Errorf("through proxy #%d: failed", i+1))
		if ctx.Err() != nil {
			break
		}
	}
	return store.WAVersionContainer{}, errors.Join(errs...)
}

// applyVersion makes every client that connects from now on announce v.
// whatsmeow's SetWAVersion (in the pinned release) updates the hash sent
// when pairing but not the version in the client payload, which it copied
// at init: set that too, or WhatsApp still sees the old one.
func applyVersion(version string) error {
	v, err := store.ParseVersion(version)
	if err != nil || v.IsZero() {
		return fmt.Errorf("whatsmeow: bad WhatsApp web version %q", version)
	}
	versionMu.Lock()
	defer versionMu.Unlock()
	if store.GetWAVersion() != v {
		store.SetWAVersion(v)
	}
	if ua := store.BaseClientPayload.UserAgent; !sameVersion(ua.GetAppVersion(), v) {
		ua.AppVersion = v.ProtoAppVersion()
	}
	return nil
}

func sameVersion(a interface {
	GetPrimary() uint32
	GetSecondary() uint32
	GetTertiary() uint32
}, v store.WAVersionContainer) bool {
	return a.GetPrimary() == v[0] && a.GetSecondary() == v[1] && a.GetTertiary() == v[2]
}

// ClientVersion is the WhatsApp Web version clients announce, and where it
// came from.
func (e *Engine) ClientVersion() engine.ClientVersion { return e.ver.current() }

// RefreshClientVersion asks WhatsApp for its current web version now.
func (e *Engine) RefreshClientVersion(ctx context.Context) (engine.ClientVersion, error) {
	return e.ver.refresh(ctx)
}

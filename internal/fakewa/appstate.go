package fakewa

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.mau.fi/whatsmeow/appstate"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waServerSync"
	"go.mau.fi/whatsmeow/store"
	waLog "go.mau.fi/whatsmeow/util/log"
	"google.golang.org/protobuf/proto"
)

// App state: WhatsApp keeps each account's app state collections
// (regular, regular_low, regular_high, critical_block,
// critical_unblock_low) as numbered patches the account's devices write
// and read through `w:sync:app:state` IQs. The server cannot read them;
// this one plays the account's phone too, which holds the keys: it checks
// and decodes every patch a device sends (AppStateMutations,
// WaitAppState), and makes changes as the phone would (PushAppState): a new
// patch and a server_sync notification to the account's devices, which
// then fetch it. A device gets the phone's key through AppStateKey (on
// WhatsApp, the phone shares it in a protocol message after linking).

// AppStateMutation is one change a device sent, decoded.
type AppStateMutation struct {
	Collection string
	appstate.Mutation
}

// appState is an account's collections, and the phone's view of them.
type appState struct {
	mu      sync.Mutex
	keyID   []byte
	keyData []byte
	mem     *memAppState
	proc    *appstate.Processor
	patches map[string][][]byte // per collection, patch i has version i+1
	got     []AppStateMutation
}

// appStateOf returns (creating) the account's app state.
func (a *Account) appStateOf() *appState {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.appState == nil {
		st := &appState{keyID: []byte("fakewa-app-state-key-" + a.phone), keyData: make([]byte, 32), patches: map[string][][]byte{}}
		_, _ = rand.Read(st.keyData)
		st.mem = &memAppState{versions: map[string]appstate.HashState{}, macs: map[string][]byte{}}
		st.mem.keys = map[string]store.AppStateSyncKey{string(st.keyID): {Data: st.keyData, Fingerprint: []byte{1}, Timestamp: time.Now().Unix()}}
		st.proc = appstate.NewProcessor(&store.Device{AppStateKeys: st.mem, AppState: st.mem}, waLog.Noop)
		a.appState = st
	}
	return a.appState
}

// AppStateKey is the key the account's phone encrypts app state with, for
// a device's store (whatsmeow's Store.AppStateKeys).
func (a *Account) AppStateKey() (id, data []byte) {
	st := a.appStateOf()
	return slices.Clone(st.keyID), slices.Clone(st.keyData)
}

// PushAppState is the phone changing app state (appstate.Build*): the
// patch is kept and the account's online devices get a server_sync
// notification, so that they fetch it.
func (a *Account) PushAppState(ctx context.Context, patch appstate.PatchInfo) error {
	st := a.appStateOf()
	st.mu.Lock()
	state := st.mem.versions[string(patch.Type)]
	raw, err := st.proc.EncodePatch(ctx, st.keyID, state, patch)
	if err == nil {
		_, err = st.apply(ctx, string(patch.Type), raw)
	}
	version := len(st.patches[string(patch.Type)])
	st.mu.Unlock()
	if err != nil {
		return fmt.Errorf("fakewa: push app state: %w", err)
	}
	for _, d := range a.Devices() {
		if d.Linked() {
			d.Notify(waBinary.Node{Attrs: waBinary.Attrs{"type": "server_sync"}, Content: []waBinary.Node{{
				Tag: "collection", Attrs: waBinary.Attrs{"name": string(patch.Type), "version": version}}}})
		}
	}
	return nil
}

// AppStateMutations lists the changes the account's devices sent.
func (a *Account) AppStateMutations() []AppStateMutation {
	st := a.appStateOf()
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clone(st.got)
}

// WaitAppState waits for a change a device sent that match accepts.
func (a *Account) WaitAppState(ctx context.Context, match func(AppStateMutation) bool) (AppStateMutation, error) {
	var out AppStateMutation
	err := a.srv.wait(ctx, func() bool {
		for _, m := range a.AppStateMutations() {
			if match(m) {
				out = m
				return true
			}
		}
		return false
	})
	if err != nil {
		return out, fmt.Errorf("fakewa: waiting for an app state change: %w", err)
	}
	return out, nil
}

// apply checks a patch against the collection's state, keeps it as the
// next version and returns its mutations; under st.mu.
func (st *appState) apply(ctx context.Context, name string, raw []byte) ([]appstate.Mutation, error) {
	var patch waServerSync.SyncdPatch
	if err := proto.Unmarshal(raw, &patch); err != nil {
		return nil, fmt.Errorf("patch: %w", err)
	}
	version := uint64(len(st.patches[name]) + 1)
	patch.Version = &waServerSync.SyncdVersion{Version: proto.Uint64(version)}
	// Marshal first: decoding decrypts the values in place.
	stored, err := proto.Marshal(&patch)
	if err != nil {
		return nil, err
	}
	list := &appstate.PatchList{Name: appstate.WAPatchName(name), Patches: []*waServerSync.SyncdPatch{&patch}}
	muts, _, err := st.proc.DecodePatches(ctx, list, st.mem.versions[name], true)
	if err != nil {
		return nil, err
	}
	st.patches[name] = append(st.patches[name], stored)
	return muts, nil
}

// appStateIQ answers a device's `w:sync:app:state` IQ: for each
// collection, its patch (when it sends one, at the version it has seen)
// or the patches after the version it has.
func (c *Conn) appStateIQ(n *waBinary.Node) waBinary.Node {
	d := c.onlineDevice()
	if d == nil {
		return IQError(401, "not-authorized")
	}
	st := d.acct.appStateOf()
	var out []waBinary.Node
	sync := n.GetChildByTag("sync")
	for _, coll := range sync.GetChildrenByTag("collection") {
		ag := coll.AttrGetter()
		name := ag.String("name")
		from, _ := ag.GetUint64("version", false)
		st.mu.Lock()
		have := uint64(len(st.patches[name]))
		if p, ok := coll.GetOptionalChildByTag("patch"); ok {
			raw, _ := p.Content.([]byte)
			switch {
			case from != have:
				// The device missed patches: WhatsApp's conflict, with them.
				out = append(out, st.collectionNode(name, from, waBinary.Node{Tag: "error", Attrs: waBinary.Attrs{"code": 409, "text": "conflict"}}))
			default:
				muts, err := st.apply(context.Background(), name, raw)
				if err != nil {
					out = append(out, waBinary.Node{Tag: "collection", Attrs: waBinary.Attrs{"name": name, "type": "error"},
						Content: []waBinary.Node{{Tag: "error", Attrs: waBinary.Attrs{"code": 400, "text": err.Error()}}}})
					break
				}
				for _, m := range muts {
					st.got = append(st.got, AppStateMutation{Collection: name, Mutation: m})
				}
				out = append(out, waBinary.Node{Tag: "collection", Attrs: waBinary.Attrs{"name": name, "version": have + 1}})
			}
		} else {
			out = append(out, st.collectionNode(name, from))
		}
		st.mu.Unlock()
	}
	c.srv.events.notify()
	return IQResult(waBinary.Node{Tag: "sync", Content: out})
}

// collectionNode is a collection's patches after version from (with
// extra children, an error); under st.mu.
func (st *appState) collectionNode(name string, from uint64, extra ...waBinary.Node) waBinary.Node {
	all := st.patches[name]
	var patches []waBinary.Node
	for _, raw := range all[min(int(from), len(all)):] {
		patches = append(patches, waBinary.Node{Tag: "patch", Content: raw})
	}
	attrs := waBinary.Attrs{"name": name, "version": len(all)}
	if len(extra) > 0 {
		attrs["type"] = "error"
	}
	kids := append(extra, waBinary.Node{Tag: "patches", Content: patches})
	return waBinary.Node{Tag: "collection", Attrs: attrs, Content: kids}
}

// memAppState is the phone's key and hash state store, in memory.
type memAppState struct {
	keys     map[string]store.AppStateSyncKey
	versions map[string]appstate.HashState
	macs     map[string][]byte // collection + "/" + index MAC
}

var errNoKey = errors.New("fakewa: no such app state key")

func (m *memAppState) PutAppStateSyncKey(_ context.Context, id []byte, key store.AppStateSyncKey) error {
	m.keys[string(id)] = key
	return nil
}

func (m *memAppState) GetAppStateSyncKey(_ context.Context, id []byte) (*store.AppStateSyncKey, error) {
	k, ok := m.keys[string(id)]
	if !ok {
		return nil, nil
	}
	return &k, nil
}

func (m *memAppState) GetLatestAppStateSyncKeyID(context.Context) ([]byte, error) {
	for id := range m.keys {
		return []byte(id), nil
	}
	return nil, errNoKey
}

func (m *memAppState) PutAppStateVersion(_ context.Context, name string, version uint64, hash [128]byte) error {
	m.versions[name] = appstate.HashState{Version: version, Hash: hash}
	return nil
}

func (m *memAppState) GetAppStateVersion(_ context.Context, name string) (uint64, [128]byte, error) {
	v := m.versions[name]
	return v.Version, v.Hash, nil
}

func (m *memAppState) DeleteAppStateVersion(_ context.Context, name string) error {
	delete(m.versions, name)
	return nil
}

func (m *memAppState) PutAppStateMutationMACs(_ context.Context, name string, _ uint64, muts []store.AppStateMutationMAC) error {
	for _, x := range muts {
		m.macs[name+"/"+string(x.IndexMAC)] = x.ValueMAC
	}
	return nil
}

func (m *memAppState) DeleteAppStateMutationMACs(_ context.Context, name string, indexMACs [][]byte) error {
	for _, x := range indexMACs {
		delete(m.macs, name+"/"+string(x))
	}
	return nil
}

func (m *memAppState) GetAppStateMutationMAC(_ context.Context, name string, indexMAC []byte) ([]byte, error) {
	return bytes.Clone(m.macs[name+"/"+string(indexMAC)]), nil
}

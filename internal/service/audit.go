package service

import (
	"context"
	"fmt"
	"net/url"

	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// auditing makes e the audit entry of the change the caller is about to
// make with the returned context: the store writes it in the transaction
// of the change's first write, so that a change is never without its entry
// (an entry that cannot be written fails the change). done, deferred with
// the caller's error, writes the entry on its own when the change wrote
// nothing to the database (a restart, a logout), and turns a failure to
// write it into the caller's error.
func (s *Service) auditing(ctx context.Context, e audit.Entry) (context.Context, func(*error)) {
	e.At = s.now()
	base := ctx
	ctx, p := audit.Record(ctx, e)
	return ctx, func(errp *error) {
		if *errp != nil || p.Written() {
			return
		}
		if err := s.store.AppendAudit(context.WithoutCancel(base), p.Entry); err != nil {
			*errp = fmt.Errorf("audit log: %w", err)
		}
	}
}

// channelAudit is what the audit log shows of a channel.
func channelAudit(ch model.Channel) map[string]any {
	return map[string]any{"name": ch.Name, "phone": ch.Phone, "projectId": ch.ProjectID, "mode": string(ch.Mode),
		"stopped": ch.Stopped, "activeTill": ch.ActiveTill.UnixMilli(), "proxy": redactProxy(ch.Proxy)}
}

// describeChannel records the fields of a channel that changed.
func describeChannel(ctx context.Context, before, after model.Channel) {
	b, a := audit.Diff(channelAudit(before), channelAudit(after))
	audit.Describe(ctx, b, a)
}

// redactProxy drops a proxy URL's credentials.
func redactProxy(p string) string {
	if p == "" {
		return ""
	}
	u, err := url.Parse(p)
	if err != nil {
		return "(unparsable)"
	}
	u.User = nil
	return u.String()
}

// AuditQuery filters the audit log (store.AuditQuery).
type AuditQuery = store.AuditQuery

// AuditLog lists the audit log, newest first, and whether more entries
// match beyond those.
func (s *Service) AuditLog(ctx context.Context, q AuditQuery) ([]audit.Entry, bool, error) {
	if q.Limit < 0 || q.Limit > 500 {
		return nil, false, invalid("limit", "must be from 1 to 500")
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return nil, false, invalid("to", "must be after from")
	}
	switch q.ActorKind {
	case "", audit.ActorOperator, audit.ActorPartner, audit.ActorChannel, audit.ActorSystem:
	default:
		return nil, false, invalid("actor", "must be operator, partner, channel or system")
	}
	return s.store.AuditLog(ctx, q)
}

// channelSettingsAudit is what the audit log shows of channel settings:
// webhooks by URL, events and mode (their secrets and headers left out),
// the proxy without credentials.
func channelSettingsAudit(cs model.ChannelSettings) map[string]any {
	m := audit.Fields(cs)
	if m == nil {
		m = map[string]any{}
	}
	hooks := make([]map[string]any, len(cs.Webhooks))
	for i, h := range cs.Webhooks {
		hooks[i] = map[string]any{"url": h.URL, "events": h.Events, "mode": h.Mode}
	}
	m["webhooks"] = hooks
	m["proxy"] = redactProxy(cs.Proxy)
	return m
}

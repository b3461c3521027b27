package service

import (
	"context"
	"encoding/csv"
	"io"
	"strings"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// ExportColumns are the columns of the channels CSV, in order.
var ExportColumns = []string{"Name", "ID", "Phone Number", "Work Period", "Status", "Mode", "Created Date", "Billing Status"}

// ExportChannels writes all of a partner's channels as CSV (RFC 4180, UTF-8,
// times in UTC). Rows stream from the database one at a time.
func (s *Service) ExportChannels(ctx context.Context, partnerID string, w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ExportColumns); err != nil {
		return err
	}
	now := s.now()
	err := s.store.EachChannel(ctx, partnerID, func(ch model.Channel) error {
		return cw.Write(exportRow(ch, now))
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// exportRow is a channel's row of the CSV, in ExportColumns' order.
func exportRow(ch model.Channel, now time.Time) []string {
	return []string{
		csvSafe(ch.Name),
		ch.ID,
		ch.Phone,
		ch.CreatedAt.Format(exportTime) + " - " + ch.ActiveTill.Format(exportTime),
		ch.Status(now),
		string(ch.Mode),
		ch.CreatedAt.Format(exportTime),
		ch.Mode.BillingLabel(),
	}
}

const exportTime = "2006-01-02 15:04 UTC"

// csvSafe keeps a spreadsheet from reading a user-chosen name as a formula
// (CSV injection): such a value is prefixed with a quote.
func csvSafe(v string) string {
	t := strings.TrimLeft(v, " ")
	if t != "" && strings.ContainsRune("=+-@\t\r", rune(t[0])) {
		return "'" + v
	}
	return v
}

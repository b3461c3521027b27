package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wagate/wagate/internal/model"
)

// Operator is a named operator account.
type Operator struct {
	ID, Name     string
	PasswordHash string
	// TOTPSecret is the base32 secret of its authenticator app ("" when
	// TOTP is off); TOTPLastStep the last time step a code was taken for.
	TOTPSecret   string
	TOTPLastStep int64
	CreatedAt    time.Time
	CreatedBy    string
}

const operatorColumns = "id, name, password_hash, totp_secret, totp_last_step, created_at, created_by"

func scanOperator(row interface{ Scan(...any) error }) (Operator, error) {
	var o Operator
	var created int64
	err := row.Scan(&o.ID, &o.Name, &o.PasswordHash, &o.TOTPSecret, &o.TOTPLastStep, &created, &o.CreatedBy)
	o.CreatedAt = fromMS(created)
	return o, err
}

// CreateOperator stores a new operator; a taken name is ErrConflict.
func (s *Store) CreateOperator(ctx context.Context, o Operator) error {
	_, err := s.exec(ctx, `INSERT INTO operators (`+operatorColumns+`) VALUES (?, ?, ?, ?, 0, ?, ?)`,
		o.ID, o.Name, o.PasswordHash, o.TOTPSecret, ms(o.CreatedAt), o.CreatedBy)
	if isUniqueViolation(err) {
		return fmt.Errorf("store: operator %q exists: %w", o.Name, model.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: insert operator: %w", err)
	}
	return nil
}

// OperatorByName returns an operator; an unknown name is ErrNotFound.
func (s *Store) OperatorByName(ctx context.Context, name string) (Operator, error) {
	o, err := scanOperator(s.db.QueryRowContext(ctx, s.q(`SELECT `+operatorColumns+` FROM operators WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("operator %w", model.ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("store: read operator: %w", err)
	}
	return o, nil
}

// Operators lists the operators by name.
func (s *Store) Operators(ctx context.Context) ([]Operator, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+operatorColumns+` FROM operators ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: list operators: %w", err)
	}
	defer rows.Close()
	out := []Operator{}
	for rows.Next() {
		o, err := scanOperator(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan operator: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// UseTOTPStep records that a code of time step step was accepted for the
// operator, unless one of that step or a later one already was: false
// then (a replayed code).
func (s *Store) UseTOTPStep(ctx context.Context, operatorID string, step int64) (bool, error) {
	res, err := s.exec(ctx, `UPDATE operators SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, step, operatorID, step)
	if err != nil {
		return false, fmt.Errorf("store: record TOTP step: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// OperatorByID returns an operator; an unknown ID is ErrNotFound.
func (s *Store) OperatorByID(ctx context.Context, id string) (Operator, error) {
	o, err := scanOperator(s.db.QueryRowContext(ctx, s.q(`SELECT `+operatorColumns+` FROM operators WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("operator %w", model.ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("store: read operator: %w", err)
	}
	return o, nil
}

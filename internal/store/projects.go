package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/wagate/wagate/internal/model"
)

// ProjectInfo is a project with the number of channels in it.
type ProjectInfo struct {
	model.Project
	Channels int
}

const projectSelect = `SELECT p.partner_id, p.id, p.name, p.created_at,
	(SELECT COUNT(*) FROM channels c WHERE c.partner_id = p.partner_id AND c.project_id = p.id)
	FROM projects p`

func scanProject(row interface{ Scan(...any) error }) (ProjectInfo, error) {
	var (
		p       ProjectInfo
		created int64
	)
	err := row.Scan(&p.PartnerID, &p.ID, &p.Name, &created, &p.Channels)
	p.CreatedAt = fromMS(created)
	return p, err
}

// CreateProject inserts a project; a taken ID is ErrConflict.
func (s *Store) CreateProject(ctx context.Context, p model.Project) error {
	_, err := s.exec(ctx, ("INSERT INTO projects (partner_id, id, name, created_at) VALUES (?, ?, ?, ?)"),
		p.PartnerID, p.ID, p.Name, ms(p.CreatedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("project id taken: %w", model.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: insert project: %w", err)
	}
	return nil
}

// Project returns one of a partner's projects.
func (s *Store) Project(ctx context.Context, partnerID, projectID string) (ProjectInfo, error) {
	p, err := scanProject(s.db.QueryRowContext(ctx, s.q(projectSelect+" WHERE p.partner_id = ? AND p.id = ?"), partnerID, projectID))
	if errors.Is(err, sql.ErrNoRows) {
		return p, model.ErrProjectNotFound
	}
	if err != nil {
		return p, fmt.Errorf("store: read project: %w", err)
	}
	return p, nil
}

// Projects lists a partner's projects, oldest first, with the total count.
func (s *Store) Projects(ctx context.Context, partnerID string, limit, offset int) ([]ProjectInfo, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM projects WHERE partner_id = ?"), partnerID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count projects: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.q(projectSelect+" WHERE p.partner_id = ? ORDER BY p.created_at, p.id LIMIT ? OFFSET ?"),
		partnerID, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list projects: %w", err)
	}
	defer rows.Close()
	out := []ProjectInfo{}
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: scan project: %w", err)
		}
		out = append(out, p)
	}
	return out, total, rows.Err()
}

// RenameProject changes a project's name.
func (s *Store) RenameProject(ctx context.Context, partnerID, projectID, name string) error {
	res, err := s.exec(ctx, ("UPDATE projects SET name = ? WHERE partner_id = ? AND id = ?"), name, partnerID, projectID)
	if err != nil {
		return fmt.Errorf("store: rename project: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return model.ErrProjectNotFound
	}
	return nil
}

// DeleteProject deletes an empty project. The default project and a project
// that still has channels are ErrConflict.
func (s *Store) DeleteProject(ctx context.Context, partnerID, projectID string) error {
	if projectID == model.DefaultProjectID {
		return fmt.Errorf("the default project cannot be deleted: %w", model.ErrConflict)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, s.q("SELECT 1 FROM projects WHERE partner_id = ? AND id = ?"+s.forUpdate()), partnerID, projectID).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return model.ErrProjectNotFound
		}
		if err != nil {
			return fmt.Errorf("store: read project: %w", err)
		}
		if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM channels WHERE partner_id = ? AND project_id = ?"), partnerID, projectID).Scan(&n); err != nil {
			return fmt.Errorf("store: count project channels: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("project still has %d channels; move or delete them first: %w", n, model.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM projects WHERE partner_id = ? AND id = ?"), partnerID, projectID); err != nil {
			return fmt.Errorf("store: delete project: %w", err)
		}
		return nil
	})
}

package service

import (
	"context"
	"errors"

	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/ids"
	"github.com/wagate/wagate/internal/model"
	"github.com/wagate/wagate/internal/store"
)

// CreateProject creates a project for a partner.
func (s *Service) CreateProject(ctx context.Context, partnerID, name string) (_ store.ProjectInfo, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "project.create", PartnerID: partnerID, After: audit.JSON(map[string]any{"name": name})})
	defer done(&err)
	if err := checkText("name", name, true, 100); err != nil {
		return store.ProjectInfo{}, err
	}
	for attempt := 0; ; attempt++ {
		p := model.Project{ID: ids.ProjectID(), PartnerID: partnerID, Name: name, CreatedAt: s.now()}
		err := s.store.CreateProject(ctx, p)
		if errors.Is(err, model.ErrConflict) && attempt < 3 {
			continue // an ID clash: draw again
		}
		if err != nil {
			return store.ProjectInfo{}, err
		}
		return store.ProjectInfo{Project: p}, nil
	}
}

// Project returns one of a partner's projects.
func (s *Service) Project(ctx context.Context, partnerID, projectID string) (store.ProjectInfo, error) {
	if !projectIDRE.MatchString(projectID) {
		return store.ProjectInfo{}, model.ErrProjectNotFound
	}
	return s.store.Project(ctx, partnerID, projectID)
}

// Projects lists a partner's projects.
func (s *Service) Projects(ctx context.Context, partnerID string, page Page) ([]store.ProjectInfo, int, error) {
	return s.store.Projects(ctx, partnerID, page.Count, page.Offset)
}

// RenameProject renames one of a partner's projects.
func (s *Service) RenameProject(ctx context.Context, partnerID, projectID, name string) (_ store.ProjectInfo, err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "project.rename", PartnerID: partnerID, Target: projectID, After: audit.JSON(map[string]any{"name": name})})
	defer done(&err)
	if !projectIDRE.MatchString(projectID) {
		return store.ProjectInfo{}, model.ErrProjectNotFound
	}
	if err := checkText("name", name, true, 100); err != nil {
		return store.ProjectInfo{}, err
	}
	if err := s.store.RenameProject(ctx, partnerID, projectID, name); err != nil {
		return store.ProjectInfo{}, err
	}
	return s.store.Project(ctx, partnerID, projectID)
}

// DeleteProject deletes an empty project other than the default one.
func (s *Service) DeleteProject(ctx context.Context, partnerID, projectID string) (err error) {
	ctx, done := s.auditing(ctx, audit.Entry{Action: "project.delete", PartnerID: partnerID, Target: projectID})
	defer done(&err)
	if !projectIDRE.MatchString(projectID) {
		return model.ErrProjectNotFound
	}
	return s.store.DeleteProject(ctx, partnerID, projectID)
}

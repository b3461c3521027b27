package engine

import (
	"context"
	"errors"
	"time"
)

// GroupSetting is a group policy an admin changes (GroupAdmin).
type GroupSetting string

// Group settings, as the gate API names them.
const (
	// SettingSendMessages: who may send messages (announcement group).
	SettingSendMessages GroupSetting = "send_messages"
	// SettingEditInfo: who may edit the subject, description and icon.
	SettingEditInfo GroupSetting = "edit_group_info"
	// SettingApprove: whether joining by invite link needs an admin's
	// approval (adminsOnly: it does).
	SettingApprove GroupSetting = "approve_participants"
	// SettingAddParticipants: who may add participants.
	SettingAddParticipants GroupSetting = "add_participants"
)

// JoinRequest is a request to join a group waiting for an admin.
type JoinRequest struct {
	User   string // user JID
	Method string // how it was asked: "invite_link", "linked_group_join", "non_admin_add"
	Time   time.Time
}

// GroupAdmin is a session that changes a group's settings, answers
// requests to join and reads a group's picture.
type GroupAdmin interface {
	// SetGroupSetting restricts a setting to admins (adminsOnly) or opens
	// it to everyone (admins only: ErrNotAdmin; ErrGroupNotFound).
	SetGroupSetting(ctx context.Context, group string, setting GroupSetting, adminsOnly bool) error
	// GroupRequests lists the requests to join a group (admins only).
	GroupRequests(ctx context.Context, group string) ([]JoinRequest, error)
	// AnswerGroupRequests approves (true) or rejects the requests of users;
	// each one's result says whether it worked ("no request" when the
	// user had not asked).
	AnswerGroupRequests(ctx context.Context, group string, users []string, approve bool) ([]ParticipantResult, error)
	// GroupPhoto returns the group's picture (JPEG); ErrNoPhoto when it
	// has none.
	GroupPhoto(ctx context.Context, group string) ([]byte, error)
}

// Errors of GroupAdmin and of joins.
var (
	// ErrNoPhoto: the group or user has no picture (or hides it).
	ErrNoPhoto = errors.New("engine: no picture")
	// ErrJoinRequested: the group needs an admin's approval to join; the
	// request was sent and waits for it.
	ErrJoinRequested = errors.New("engine: the group admins must approve joining; the request was sent")
)

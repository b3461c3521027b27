package simapi

import (
	"errors"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wagate/wagate/internal/engine"
	"github.com/wagate/wagate/internal/engine/sim"
	"github.com/wagate/wagate/internal/httpx"
)

// Group is a group on the wire. Refused is set only in the answer to
// creating a group: the participants that were not added, and why.
type Group struct {
	ID           string        `json:"id"`
	Subject      string        `json:"subject"`
	Description  string        `json:"description"`
	Owner        string        `json:"owner"`
	Created      int64         `json:"created"`
	Announce     bool          `json:"announce"`
	Locked       bool          `json:"locked"`
	Participants []Participant `json:"participants"`
	Refused      []Refusal     `json:"refused,omitempty"`
}

// Participant is a member of a group on the wire.
type Participant struct {
	Phone      string `json:"phone"`
	Admin      bool   `json:"admin"`
	SuperAdmin bool   `json:"super_admin"`
}

// Refusal is a participant that was not added to a new group.
type Refusal struct {
	Phone string `json:"phone"`
	Error string `json:"error"`
}

// ParticipantResult is one participant change's outcome on the wire.
type ParticipantResult struct {
	Phone   string `json:"phone"`
	Action  string `json:"action"`
	Success bool   `json:"success"`
	Error   string `json:"error,omitempty"`
}

func newGroup(g engine.GroupInfo) Group {
	out := Group{ID: g.JID, Subject: g.Subject, Description: g.Description, Owner: numberOf(g.Owner), Created: millis(g.Created),
		Announce: g.Announce, Locked: g.Locked, Participants: make([]Participant, 0, len(g.Participants))}
	for _, p := range g.Participants {
		out.Participants = append(out.Participants, Participant{Phone: numberOf(p.JID), Admin: p.Admin, SuperAdmin: p.SuperAdmin})
	}
	return out
}

type reactRequest struct {
	ID    string  `json:"id"`
	Emoji *string `json:"emoji"`
}

func (h *handler) react(w http.ResponseWriter, r *http.Request) error {
	var req reactRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(req.ID) == "":
		return httpx.Errorf(http.StatusBadRequest, "id: required, the ID of a message the phone sent or received")
	case req.Emoji == nil:
		return httpx.Errorf(http.StatusBadRequest, `emoji: required, an emoji ("" removes the reaction)`)
	}
	if err := h.net.React(number, req.ID, *req.Emoji); err != nil {
		switch {
		case errors.Is(err, sim.ErrMessageNotFound):
			err = withField(err, "id")
		case errors.Is(err, sim.ErrInvalidContent):
			err = withField(err, "emoji")
		}
		return fail(err)
	}
	httpx.JSON(w, http.StatusOK, successResult{Success: true})
	return nil
}

type presenceRequest struct {
	To    string `json:"to"`
	State string `json:"state"`
}

func (h *handler) presence(w http.ResponseWriter, r *http.Request) error {
	var req presenceRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	state := engine.PresenceState(req.State)
	switch state {
	case engine.PresenceOnline, engine.PresenceOffline:
		if req.To != "" {
			return httpx.Errorf(http.StatusBadRequest, "to: not used with state %s (the account's presence)", state)
		}
		err = h.net.SetPresence(number, state == engine.PresenceOnline)
	case engine.PresenceTyping, engine.PresenceRecording, engine.PresencePaused:
		if err := checkChat("to", req.To); err != nil {
			return err
		}
		err = h.net.SendChatPresence(number, req.To, state)
	default:
		return httpx.Errorf(http.StatusBadRequest, "state: must be typing, recording, paused, online or offline")
	}
	if err != nil {
		if errors.Is(err, engine.ErrGroupNotFound) {
			err = withField(err, "to")
		}
		return fail(err)
	}
	httpx.JSON(w, http.StatusOK, successResult{Success: true})
	return nil
}

type createGroupRequest struct {
	Subject      string   `json:"subject"`
	Participants []string `json:"participants"`
}

func (h *handler) createGroup(w http.ResponseWriter, r *http.Request) error {
	var req createGroupRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(req.Subject) == "":
		return httpx.Errorf(http.StatusBadRequest, "subject: required, not blank")
	case utf8.RuneCountInString(req.Subject) > sim.MaxSubjectLen:
		return httpx.Errorf(http.StatusBadRequest, "subject: must be at most %d characters", sim.MaxSubjectLen)
	case strings.ContainsFunc(req.Subject, unicode.IsControl):
		return httpx.Errorf(http.StatusBadRequest, "subject: must not contain control characters")
	case len(req.Participants) > sim.MaxGroupSize-1:
		return httpx.Errorf(http.StatusBadRequest, "participants: at most %d (a group has %d members, its creator included)", sim.MaxGroupSize-1, sim.MaxGroupSize)
	}
	if err := checkNumbers("participants", req.Participants); err != nil {
		return err
	}
	g, results, err := h.net.CreateGroup(number, req.Subject, req.Participants)
	if err != nil {
		return fail(err)
	}
	out := newGroup(g)
	for _, res := range results {
		if res.Error != "" {
			out.Refused = append(out.Refused, Refusal{Phone: numberOf(res.JID), Error: res.Error})
		}
	}
	httpx.JSON(w, http.StatusCreated, out)
	return nil
}

type groupList struct {
	Groups []Group `json:"groups"`
}

func (h *handler) listGroups(w http.ResponseWriter, r *http.Request) error {
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	gs, err := h.net.Groups(number)
	if err != nil {
		return fail(err)
	}
	out := groupList{Groups: make([]Group, 0, len(gs))}
	for _, g := range gs {
		out.Groups = append(out.Groups, newGroup(g))
	}
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

type participantsRequest struct {
	Add     []string `json:"add"`
	Remove  []string `json:"remove"`
	Promote []string `json:"promote"`
	Demote  []string `json:"demote"`
}

type participantsResult struct {
	Results []ParticipantResult `json:"results"`
	Group   Group               `json:"group"`
}

func (h *handler) participants(w http.ResponseWriter, r *http.Request) error {
	var req participantsRequest
	if err := httpx.DecodeStrict(r, &req, true); err != nil {
		return err
	}
	number, err := pathPhone(r)
	if err != nil {
		return err
	}
	group := r.PathValue("group")
	jid := group
	if !strings.Contains(jid, "@") {
		jid += "@g.us"
	}
	if !strings.HasSuffix(jid, "@g.us") || !validGroup(strings.TrimSuffix(jid, "@g.us")) {
		return httpx.Errorf(http.StatusNotFound, "group: no group %q (a group JID is digits@g.us)", group)
	}
	changes := []struct {
		action engine.ParticipantAction
		users  []string
	}{
		{engine.ParticipantAdd, req.Add}, {engine.ParticipantRemove, req.Remove},
		{engine.ParticipantPromote, req.Promote}, {engine.ParticipantDemote, req.Demote},
	}
	total := 0
	for _, c := range changes {
		if err := checkNumbers(string(c.action), c.users); err != nil {
			return err
		}
		total += len(c.users)
	}
	switch {
	case total == 0:
		return httpx.Errorf(http.StatusBadRequest, "add, remove, promote or demote: at least one number is required")
	case total > sim.MaxGroupSize:
		return httpx.Errorf(http.StatusBadRequest, "add, remove, promote and demote: at most %d numbers in all", sim.MaxGroupSize)
	}
	out := participantsResult{Results: []ParticipantResult{}}
	for _, c := range changes {
		if len(c.users) == 0 {
			continue
		}
		results, err := h.net.UpdateParticipants(number, jid, c.users, c.action)
		if err != nil {
			return fail(err)
		}
		for _, res := range results {
			out.Results = append(out.Results, ParticipantResult{Phone: numberOf(res.JID), Action: string(c.action), Success: res.Error == "", Error: res.Error})
		}
	}
	g, err := h.net.Group(jid)
	if err != nil {
		return fail(err)
	}
	out.Group = newGroup(g)
	httpx.JSON(w, http.StatusOK, out)
	return nil
}

// checkNumbers checks a list of numbers, naming the first bad one.
func checkNumbers(field string, list []string) error {
	for i, v := range list {
		if !validNumber(v) {
			return httpx.Errorf(http.StatusBadRequest, "%s[%d]: must be 7 to 15 digits, without + or spaces", field, i)
		}
	}
	return nil
}

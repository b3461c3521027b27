package web

import (
	"net/http"

	"github.com/wagate/wagate/internal/service"
)

type operatorRow struct {
	Name, Created, CreatedBy string
	TOTP                     bool
}

type operatorsData struct {
	Operators []operatorRow
	Name      string // the form's name, kept on an error
	// Created is the operator just created, with its TOTP secret and URL
	// (shown this once).
	Created *service.NewOperator
}

// operatorsPage lists the named operators and creates new ones.
func (h *Handler) operatorsPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	return h.showOperators(w, r, v, http.StatusOK, operatorsData{}, nil)
}

func (h *Handler) showOperators(w http.ResponseWriter, r *http.Request, v *viewer, status int, d operatorsData, fl *flash) error {
	ops, err := h.svc.Operators(r.Context())
	if err != nil {
		return err
	}
	for _, o := range ops {
		d.Operators = append(d.Operators, operatorRow{Name: o.Name, Created: fmtDateTime(o.CreatedAt), CreatedBy: o.CreatedBy, TOTP: o.TOTPSecret != ""})
	}
	h.render(w, r, status, "operators", page{Title: "Operators", Nav: "operators", V: v, Flash: fl, Data: d})
	return nil
}

// createOperator creates a named operator; its TOTP secret is shown once.
func (h *Handler) createOperator(w http.ResponseWriter, r *http.Request, v *viewer) error {
	in := service.NewOperatorInput{Name: r.PostFormValue("name"), Password: r.PostFormValue("password"), TOTP: r.PostFormValue("totp") == "on"}
	op, err := h.svc.CreateOperator(r.Context(), in)
	if err != nil {
		status, msg := h.describe(r, err)
		if status >= 500 {
			return err
		}
		return h.showOperators(w, r, v, status, operatorsData{Name: in.Name}, &flash{Kind: "error", Msg: msg})
	}
	return h.showOperators(w, r, v, http.StatusOK, operatorsData{Created: &op}, &flash{Kind: "ok", Msg: "Operator " + op.Name + " created."})
}

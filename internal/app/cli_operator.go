package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/wagate/wagate/internal/audit"
	"github.com/wagate/wagate/internal/service"
)

// runOperator creates and lists named operator accounts.
func runOperator(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a subcommand: create or list")
	}
	ctx := audit.WithActor(context.Background(), audit.Actor{Kind: audit.ActorOperator, ID: "cli"})
	switch sub, rest := args[0], args[1:]; sub {
	case "create":
		var name, password string
		var totp bool
		svc, positional, done, err := oneShot("operator create", rest, getenv, stderr, false, func(fs *flag.FlagSet) {
			fs.StringVar(&name, "name", "", "login name: lower-case letters, digits, '.', '_' or '-' (required)")
			fs.StringVar(&password, "password", "", "password, 8 to 72 characters (or WAGATE_OPERATOR_PASSWORD, which ps does not show)")
			fs.BoolVar(&totp, "totp", false, "require a TOTP code from an authenticator app; prints its secret once")
		})
		if err != nil {
			return err
		}
		defer done()
		if err := noArgs(positional); err != nil {
			return err
		}
		if password == "" {
			password = getenv("WAGATE_OPERATOR_PASSWORD")
		}
		op, err := svc.CreateOperator(ctx, service.NewOperatorInput{Name: name, Password: password, TOTP: totp})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "operator %s created\n", op.Name)
		if op.TOTPSecret != "" {
			fmt.Fprintf(stdout, "TOTP secret (shown once; add it to an authenticator app): %s\n%s\n", op.TOTPSecret, op.TOTPURL)
		}
		return nil
	case "list":
		svc, positional, done, err := oneShot("operator list", rest, getenv, stderr, false, nil)
		if err != nil {
			return err
		}
		defer done()
		if err := noArgs(positional); err != nil {
			return err
		}
		ops, err := svc.Operators(ctx)
		if err != nil {
			return err
		}
		type row struct {
			Name      string `json:"name"`
			TOTP      bool   `json:"totp"`
			CreatedAt int64  `json:"created_at"`
			CreatedBy string `json:"created_by"`
		}
		out := make([]row, len(ops))
		for i, o := range ops {
			out[i] = row{Name: o.Name, TOTP: o.TOTPSecret != "", CreatedAt: o.CreatedAt.UnixMilli(), CreatedBy: o.CreatedBy}
		}
		return printJSON(stdout, out)
	}
	return usageError{fmt.Errorf("unknown operator subcommand %q: want create or list", args[0])}
}

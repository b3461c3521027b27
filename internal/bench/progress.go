package bench

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress writes what the bench is doing: on a terminal one line
// rewritten in place, elsewhere a line per step (and per tick of a long
// step every 5 s, so logs stay short).
type progress struct {
	w     io.Writer
	tty   bool
	start time.Time

	mu       sync.Mutex
	step     string
	lastLine time.Time
	open     bool // a line without its newline is on the terminal
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// stepf starts a step and shows it.
func (p *progress) stepf(format string, args ...any) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.step = fmt.Sprintf(format, args...)
	p.print(p.step, true)
}

// tickf shows how the current step goes.
func (p *progress) tickf(format string, args ...any) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty && time.Since(p.lastLine) < 5*time.Second {
		return
	}
	p.print(p.step+": "+fmt.Sprintf(format, args...), false)
}

func (p *progress) print(line string, force bool) {
	el := time.Since(p.start).Truncate(time.Second)
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[Kbench [%s] %s", el, line)
		p.open = true
	} else if force || time.Since(p.lastLine) >= 5*time.Second {
		fmt.Fprintf(p.w, "bench [%s] %s\n", el, line)
	}
	p.lastLine = time.Now()
}

// done ends the progress line.
func (p *progress) done() {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}

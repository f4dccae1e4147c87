// Command hirebell receives Comeet's hire webhooks on an HR laptop: it
// verifies and stores each hire, notifies, and lists new employees.
//
// main wires; it does not decide. The behaviour lives in store, receiver
// and ui.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"fyne.io/fyne/v2/app"

	"hirebell/receiver"
	"hirebell/store"
	"hirebell/ui"
)

// appID matches FyneApp.toml.
const appID = "app.hirebell.desktop"

const usage = `Hirebell receives Comeet's hire webhooks on this computer.

Usage:
  hirebell [flags]                  the desktop app (tray icon, window, receiver, tunnel)
  hirebell serve [flags]            the receiver without a window; Ctrl-C stops it
  hirebell secret [--rotate]        print the webhook secret (--rotate: make a new one)
  hirebell export [--out FILE]      write every hire as CSV (default: standard output)
  hirebell log [--problems]         print the delivery log (--problems: only failures)

Flags for every command:
  --data DIR       data folder (default: %s; env HIREBELL_DATA)
  --listen ADDR    local address of the receiver (default 127.0.0.1:8725)
  --no-tunnel      do not open the public ngrok URL

Run 'hirebell COMMAND -h' for a command's own flags.
`

// options are the flags every command shares.
type options struct {
	data     string
	listen   string
	noTunnel bool
}

func defaultDataDir() string {
	if d := os.Getenv("HIREBELL_DATA"); d != "" {
		return d
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "hirebell")
	}
	return "hirebell-data"
}

func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.data, "data", o.data, "data folder (env HIREBELL_DATA)")
	fs.StringVar(&o.listen, "listen", o.listen, "local address of the receiver")
	fs.BoolVar(&o.noTunnel, "no-tunnel", o.noTunnel, "do not open the public ngrok URL")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses the command line and runs one command; it returns the exit
// status: 0 done, 1 failed, 2 bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	opts := options{data: defaultDataDir(), listen: "127.0.0.1:8725"}
	root := flag.NewFlagSet("hirebell", flag.ContinueOnError)
	root.SetOutput(stderr)
	root.Usage = func() { fmt.Fprintf(stderr, usage, defaultDataDir()) }
	opts.register(root)
	if err := root.Parse(args); err != nil {
		return usageStatus(err)
	}
	cmd, rest := "", root.Args()
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}

	fs := flag.NewFlagSet("hirebell "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts.register(fs)
	rotate := false
	out := "-"
	problems := false
	switch cmd {
	case "", "serve":
	case "secret":
		fs.BoolVar(&rotate, "rotate", false, "replace the secret with a new one (Comeet must then be updated)")
	case "export":
		fs.StringVar(&out, "out", "-", "file to write, - for standard output")
	case "log":
		fs.BoolVar(&problems, "problems", false, "show only deliveries that failed")
	case "help":
		root.Usage()
		return 0
	default:
		fmt.Fprintf(stderr, "hirebell: unknown command %q\n", cmd)
		root.Usage()
		return 2
	}
	if err := fs.Parse(rest); err != nil {
		return usageStatus(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hirebell: unexpected argument %q\n", fs.Arg(0))
		return 2
	}

	log := slog.New(slog.NewTextHandler(stderr, nil))
	st, err := store.Open(opts.data, store.Options{})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			err = fmt.Errorf("another Hirebell is already using the data folder %s; close it first, or choose another folder with --data", opts.data)
		}
		fmt.Fprintln(stderr, "hirebell:", err)
		if cmd == "" {
			ui.ShowStartupError(app.NewWithID(appID), "Hirebell cannot start: "+err.Error()+".")
		}
		return 1
	}
	defer st.Close()

	switch cmd {
	case "":
		err = runDesktop(st, opts, log)
	case "serve":
		err = serve(st, opts, stdout, log)
	case "secret":
		err = printSecret(st, rotate, stdout, stderr)
	case "export":
		err = export(st, out, stdout)
	case "log":
		err = st.PrintLog(stdout, problems)
	}
	if err != nil {
		fmt.Fprintln(stderr, "hirebell:", err)
		return 1
	}
	return 0
}

func usageStatus(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// intake is the receiver, its local HTTP server, the public URL and the
// document downloads, shared by the desktop app and serve.
type intake struct {
	rcv      *receiver.Receiver
	docs     *receiver.Fetcher
	srv      *http.Server
	localURL string
	served   chan error
	pub      *receiver.Publisher // nil with --no-tunnel
}

// startIntake starts receiving on listen. Each stored hire's documents are
// fetched in the background, then onHire (if set) is told.
func startIntake(st *store.Store, listen string, log *slog.Logger, onHire func(store.SaveResult)) (*intake, error) {
	if _, err := st.Secret(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s (is another program using it? choose another with --listen): %w", listen, err)
	}
	docs := receiver.NewFetcher(st, receiver.FetchOptions{
		AllowHTTP: os.Getenv("HIREBELL_DOCUMENTS_ALLOW_HTTP") == "1",
	}, log)
	// Downloads that a crash or quit interrupted go on if their links
	// are still valid. Finding them reads the store: not on the way to
	// the first window.
	go func() {
		if err := docs.Resume(context.Background()); err != nil {
			log.Warn("resuming document downloads", "err", err)
		}
	}()
	rcv := receiver.New(receiver.Config{
		Store: st,
		Secret: func() []byte {
			s, _ := st.Secret() // cached after the first call
			return []byte(s)
		},
		OnHire: func(res store.SaveResult) {
			docs.Enqueue(res.Hire) // never blocks
			if onHire != nil {
				onHire(res)
			}
		},
		Logger: log,
	})
	in := &intake{
		rcv:      rcv,
		docs:     docs,
		srv:      receiver.NewServer(rcv, log),
		localURL: "http://" + ln.Addr().String(),
		served:   make(chan error, 1),
	}
	go func() { in.served <- in.srv.Serve(ln) }()
	return in, nil
}

// stop closes the public URL (if any), lets in-flight requests finish,
// closes the server, then stops the downloads (what is unfinished is
// resumed at the next start).
func (in *intake) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if in.pub != nil {
		if err := in.pub.Close(ctx); err != nil {
			slog.Warn("closing the public URL", "err", err)
		}
	}
	err := in.srv.Shutdown(ctx)
	if cerr := in.docs.Close(); err == nil {
		err = cerr
	}
	return err
}

// publish starts the public URL with the token from the settings, or from
// NGROK_AUTHTOKEN when none is saved. With no token the publisher reports
// why there is no public URL; the local listener works either way.
func (in *intake) publish(st *store.Store, log *slog.Logger) error {
	token, err := st.Setting(store.SettingNgrokToken)
	if err != nil {
		return err
	}
	if token == "" {
		token = os.Getenv("NGROK_AUTHTOKEN")
	}
	domain, err := st.Setting(store.SettingNgrokDomain)
	if err != nil {
		return err
	}
	in.pub = receiver.NewPublisher(in.srv, log, func(token, domain string) receiver.Exposer {
		return receiver.NgrokExposer(token, domain, log)
	})
	in.pub.Reconfigure(token, domain)
	return nil
}

func serve(st *store.Store, opts options, stdout io.Writer, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	in, err := startIntake(st, opts.listen, log, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Hirebell is receiving hires at %s%s\n", in.localURL, receiver.HookPath)
	var tunnel <-chan receiver.TunnelStatus
	if !opts.noTunnel {
		if err := in.publish(st, log); err != nil {
			in.stop()
			return err
		}
		var unsubscribe func()
		tunnel, unsubscribe = in.pub.Subscribe()
		defer unsubscribe()
	}
	var last receiver.TunnelStatus
	for {
		select {
		case <-ctx.Done():
			log.Info("stopping")
			return in.stop()
		case err := <-in.served:
			return fmt.Errorf("receiver stopped: %w", err)
		case s, ok := <-tunnel:
			if !ok {
				tunnel = nil
				continue
			}
			if s.State == last.State && s.URL == last.URL {
				continue // a latency update
			}
			if s.State == receiver.TunnelOnline && s.URL != last.URL {
				fmt.Fprintf(stdout, "Public webhook URL: %s\n", s.WebhookURL())
			}
			log.Info("public url", "state", s.State.String(), "code", s.Code, "reason", s.Reason)
			last = s
		}
	}
}

func runDesktop(st *store.Store, opts options, log *slog.Logger) error {
	// The receiver may call back before the UI exists: HireArrived on a
	// nil *UI does nothing (the hire is in the store and shows on load).
	var u atomic.Pointer[ui.UI]
	in, err := startIntake(st, opts.listen, log, func(res store.SaveResult) { u.Load().HireArrived(res) })
	if err != nil {
		return err
	}
	deps := ui.Deps{
		App:           app.NewWithID(appID),
		Store:         st,
		Receiver:      in.rcv,
		LocalURL:      in.localURL,
		EnvNgrokToken: os.Getenv("NGROK_AUTHTOKEN"),
		Log:           log,
	}
	if !opts.noTunnel {
		if err := in.publish(st, log); err != nil {
			in.stop()
			return err
		}
		deps.Publisher = in.pub
	}
	gui := ui.New(deps)
	u.Store(gui)
	gui.Run()
	return in.stop()
}

func printSecret(st *store.Store, rotate bool, stdout, stderr io.Writer) error {
	get := st.Secret
	if rotate {
		get = st.RotateSecret
	}
	secret, err := get()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, secret)
	if rotate {
		fmt.Fprintln(stderr, "New secret made. Paste it into Comeet's Integrations page now: until then Comeet's deliveries are refused (401).")
	}
	return nil
}

// export writes the CSV to stdout, or to a file that appears whole or not
// at all (written aside, then renamed), readable only by this user.
func export(st *store.Store, out string, stdout io.Writer) error {
	if out == "-" || out == "" {
		return st.ExportCSV(stdout)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".hirebell-export-*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := st.ExportCSV(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return os.Rename(tmp.Name(), out)
}

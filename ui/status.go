package ui

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2/widget"

	"hirebell/receiver"
)

// publisher is the part of receiver.Publisher the UI uses: the live state
// of the public URL and a way to apply new ngrok settings.
type publisher interface {
	// Reconfigure applies a new authtoken and domain without a restart.
	Reconfigure(token, domain string)
	// Retry restarts the tunnel with the current settings.
	Retry()
	// Current returns the latest status.
	Current() receiver.TunnelStatus
	// Subscribe sends the current status at once, then every change.
	Subscribe() (<-chan receiver.TunnelStatus, func())
}

// reasonNoTunnel explains a missing public URL when the app runs without a
// publisher at all (--no-tunnel).
const reasonNoTunnel = "Hirebell was started with --no-tunnel, so it answers only on this computer " +
	"and Comeet cannot reach it. Start Hirebell without --no-tunnel to get a public URL."

// tunnelView is what the window and the tray say about the public URL.
type tunnelView struct {
	// Title is one short line, like "Public URL: online".
	Title string
	// Detail is a plain sentence or two: the URL, or why there is none
	// and what to do.
	Detail string
	// Importance colours the title.
	Importance widget.Importance
	// Public is true when the webhook URL to give Comeet is the public one
	// (online, or reconnecting to the same URL).
	Public bool
	// Retry is true when a Retry button helps (the user fixed something on
	// ngrok's side).
	Retry bool
}

// describeTunnel maps a tunnel status to words. hasTunnel is false when
// the app runs without a publisher (--no-tunnel).
func describeTunnel(s receiver.TunnelStatus, hasTunnel bool) tunnelView {
	if !hasTunnel {
		return tunnelView{Title: "Public URL: off", Detail: reasonNoTunnel, Importance: widget.WarningImportance}
	}
	switch s.State {
	case receiver.TunnelOff:
		return tunnelView{
			Title:      "Public URL: off",
			Detail:     orDefault(s.Reason, receiver.ReasonNoToken),
			Importance: widget.WarningImportance,
		}
	case receiver.TunnelConnecting:
		return tunnelView{
			Title:      "Public URL: connecting…",
			Detail:     "Connecting to ngrok; this takes a few seconds. The local address works meanwhile.",
			Importance: widget.MediumImportance,
		}
	case receiver.TunnelOnline:
		detail := s.URL + " is live."
		if s.Latency > 0 {
			detail = fmt.Sprintf("%s is live (latency %s).", s.URL, roundLatency(s.Latency))
		}
		return tunnelView{
			Title:      "Public URL: online",
			Detail:     detail + " Comeet can reach this computer.",
			Importance: widget.SuccessImportance,
			Public:     true,
		}
	case receiver.TunnelReconnecting:
		return tunnelView{
			Title: "Public URL: reconnecting…",
			Detail: orDefault(s.Reason, "The connection to ngrok was lost.") +
				" Hirebell keeps retrying on its own; Comeet retries hires it could not deliver.",
			Importance: widget.WarningImportance,
			Public:     hasPublicURL(s),
		}
	case receiver.TunnelNeedsAttention:
		detail := orDefault(s.Reason, "ngrok refused the connection. Check the authtoken and domain, then press Retry.")
		if s.Code != "" {
			detail = s.Code + ": " + detail
		}
		return tunnelView{
			Title:      "Public URL: needs attention",
			Detail:     detail,
			Importance: widget.DangerImportance,
			Retry:      true,
		}
	}
	return tunnelView{Title: "Public URL: " + s.State.String(), Detail: s.Reason, Importance: widget.MediumImportance}
}

// webhookURL is the address to paste into Comeet: the public one when the
// tunnel is online, or reconnecting to the same URL, else the local one.
func webhookURL(s receiver.TunnelStatus, localURL string) string {
	if hasPublicURL(s) {
		return strings.TrimSuffix(s.URL, "/") + receiver.HookPath
	}
	return strings.TrimSuffix(localURL, "/") + receiver.HookPath
}

// hasPublicURL reports whether s carries the public URL to give Comeet.
// While reconnecting the URL is kept, since the same one comes back.
func hasPublicURL(s receiver.TunnelStatus) bool {
	return s.URL != "" && (s.State == receiver.TunnelOnline || s.State == receiver.TunnelReconnecting)
}

// unseenText is the tray's line about hires nobody has opened yet.
func unseenText(n int) string {
	switch n {
	case 0:
		return "No new hires"
	case 1:
		return "1 new hire"
	}
	return fmt.Sprintf("%d new hires", n)
}

// roundLatency keeps latencies readable: "45ms", "1.2s".
func roundLatency(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

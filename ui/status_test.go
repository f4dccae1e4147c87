package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/widget"

	"hirebell/receiver"
)

func TestDescribeTunnel(t *testing.T) {
	tests := []struct {
		name       string
		status     receiver.TunnelStatus
		noTunnel   bool
		title      string
		importance widget.Importance
		public     bool
		retry      bool
		detailHas  []string
	}{
		{
			name:     "no tunnel this session",
			noTunnel: true,
			title:    "Public URL: off", importance: widget.WarningImportance,
			detailHas: []string{"--no-tunnel", "Comeet cannot reach it"},
		},
		{
			name:   "off without a token",
			status: receiver.TunnelStatus{State: receiver.TunnelOff, Reason: receiver.ReasonNoToken},
			title:  "Public URL: off", importance: widget.WarningImportance,
			detailHas: []string{"dashboard.ngrok.com", "authtoken"},
		},
		{
			name:   "off with no reason given",
			status: receiver.TunnelStatus{State: receiver.TunnelOff},
			title:  "Public URL: off", importance: widget.WarningImportance,
			detailHas: []string{"authtoken"},
		},
		{
			name:   "connecting",
			status: receiver.TunnelStatus{State: receiver.TunnelConnecting},
			title:  "Public URL: connecting…", importance: widget.MediumImportance,
			detailHas: []string{"Connecting to ngrok", "local address works"},
		},
		{
			name:   "online before the first heartbeat",
			status: receiver.TunnelStatus{State: receiver.TunnelOnline, URL: "https://bell.ngrok-free.app"},
			title:  "Public URL: online", importance: widget.SuccessImportance, public: true,
			detailHas: []string{"https://bell.ngrok-free.app is live."},
		},
		{
			name:   "online with latency",
			status: receiver.TunnelStatus{State: receiver.TunnelOnline, URL: "https://bell.ngrok-free.app", Latency: 41600 * time.Microsecond},
			title:  "Public URL: online", importance: widget.SuccessImportance, public: true,
			detailHas: []string{"https://bell.ngrok-free.app", "latency 42ms"},
		},
		{
			name:   "reconnecting",
			status: receiver.TunnelStatus{State: receiver.TunnelReconnecting, URL: "https://bell.ngrok-free.app", Reason: "The network is down."},
			title:  "Public URL: reconnecting…", importance: widget.WarningImportance, public: true,
			detailHas: []string{"The network is down.", "keeps retrying"},
		},
		{
			name:   "reconnecting before any URL",
			status: receiver.TunnelStatus{State: receiver.TunnelReconnecting},
			title:  "Public URL: reconnecting…", importance: widget.WarningImportance,
			detailHas: []string{"connection to ngrok was lost"},
		},
		{
			name:   "needs attention with a code",
			status: receiver.TunnelStatus{State: receiver.TunnelNeedsAttention, Code: "ERR_NGROK_107", Reason: "ngrok rejected the authtoken. Copy it again."},
			title:  "Public URL: needs attention", importance: widget.DangerImportance, retry: true,
			detailHas: []string{"ERR_NGROK_107: ngrok rejected the authtoken. Copy it again."},
		},
		{
			name:   "needs attention without a reason",
			status: receiver.TunnelStatus{State: receiver.TunnelNeedsAttention},
			title:  "Public URL: needs attention", importance: widget.DangerImportance, retry: true,
			detailHas: []string{"press Retry"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := describeTunnel(tt.status, !tt.noTunnel)
			if v.Title != tt.title {
				t.Errorf("title = %q, want %q", v.Title, tt.title)
			}
			if v.Importance != tt.importance {
				t.Errorf("importance = %v, want %v", v.Importance, tt.importance)
			}
			if v.Public != tt.public {
				t.Errorf("public = %v, want %v", v.Public, tt.public)
			}
			if v.Retry != tt.retry {
				t.Errorf("retry = %v, want %v", v.Retry, tt.retry)
			}
			for _, s := range tt.detailHas {
				if !strings.Contains(v.Detail, s) {
					t.Errorf("detail %q lacks %q", v.Detail, s)
				}
			}
		})
	}
}

func TestWebhookURL(t *testing.T) {
	tests := []struct {
		name   string
		status receiver.TunnelStatus
		want   string
	}{
		{"online", receiver.TunnelStatus{State: receiver.TunnelOnline, URL: "https://bell.ngrok-free.app/"}, "https://bell.ngrok-free.app/hooks/comeet"},
		{"reconnecting keeps the public one", receiver.TunnelStatus{State: receiver.TunnelReconnecting, URL: "https://bell.ngrok-free.app"}, "https://bell.ngrok-free.app/hooks/comeet"},
		{"reconnecting before any URL", receiver.TunnelStatus{State: receiver.TunnelReconnecting}, "http://127.0.0.1:8725/hooks/comeet"},
		{"needs attention", receiver.TunnelStatus{State: receiver.TunnelNeedsAttention, URL: "https://bell.ngrok-free.app"}, "http://127.0.0.1:8725/hooks/comeet"},
		{"off", receiver.TunnelStatus{}, "http://127.0.0.1:8725/hooks/comeet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := webhookURL(tt.status, "http://127.0.0.1:8725/"); got != tt.want {
				t.Errorf("webhookURL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUnseenText(t *testing.T) {
	for n, want := range map[int]string{0: "No new hires", 1: "1 new hire", 7: "7 new hires"} {
		if got := unseenText(n); got != want {
			t.Errorf("unseenText(%d) = %q, want %q", n, got, want)
		}
	}
}

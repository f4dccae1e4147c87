package ui

import (
	"fmt"
	"net"
	"path/filepath"
	"testing"
)

func TestBusDialAddress(t *testing.T) {
	tests := []struct {
		name, entry, network, address string
		ok                            bool
	}{
		{"unix path", "unix:path=/run/user/1000/bus", "unix", "/run/user/1000/bus", true},
		{"unix path with guid", "unix:path=/tmp/dbus-x,guid=abc", "unix", "/tmp/dbus-x", true},
		{"escaped path", "unix:path=/tmp/a%20b", "unix", "/tmp/a b", true},
		{"abstract", "unix:abstract=/tmp/dbus-Y,guid=1", "unix", "@/tmp/dbus-Y", true},
		{"tcp", "tcp:host=127.0.0.1,port=5555", "tcp", "127.0.0.1:5555", true},
		{"tcp without port", "tcp:host=127.0.0.1", "", "", false},
		{"unknown transport", "launchd:env=X", "", "", false},
		{"not an address", "garbage", "", "", false},
		{"empty", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			network, address, ok := busDialAddress(tt.entry)
			if network != tt.network || address != tt.address || ok != tt.ok {
				t.Errorf("busDialAddress(%q) = %q, %q, %v; want %q, %q, %v",
					tt.entry, network, address, ok, tt.network, tt.address, tt.ok)
			}
		})
	}
}

func TestSessionBusReachable(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "bus")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tcp.Close() })
	port := tcp.Addr().(*net.TCPAddr).Port
	gone := filepath.Join(t.TempDir(), "nobody-listens")

	tests := []struct {
		name string
		addr string
		want bool
	}{
		{"unset", "", false},
		{"unix socket that listens", "unix:path=" + sock, true},
		{"tcp that listens", fmt.Sprintf("tcp:host=127.0.0.1,port=%d", port), true},
		{"socket file missing", "unix:path=" + gone, false},
		{"first fails, second works", "unix:path=" + gone + ";unix:path=" + sock, true},
		{"nonsense", "nonsense", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sessionBusReachable(tt.addr); got != tt.want {
				t.Errorf("sessionBusReachable(%q) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
}

func TestTrayMenu(t *testing.T) {
	var clicked []string
	click := func(name string) func() { return func() { clicked = append(clicked, name) } }
	tm := newTrayMenu(click("open"), click("url"), click("secret"), click("export"), click("quit"))
	refreshes := 0
	tm.refresh = func() { refreshes++ }

	var labels []string
	for _, it := range tm.menu.Items {
		if it.IsSeparator {
			labels = append(labels, "---")
			continue
		}
		labels = append(labels, it.Label)
		if it.Action != nil {
			it.Action()
		}
	}
	want := "[Open Hirebell Copy webhook URL Copy secret Export CSV... --- Public URL: off No new hires --- Quit]"
	if got := fmt.Sprint(labels); got != want {
		t.Errorf("tray labels %s\nwant %s", got, want)
	}
	if got := fmt.Sprint(clicked); got != "[open url secret export quit]" {
		t.Errorf("actions %s", got)
	}
	if !tm.status.Disabled || !tm.unseen.Disabled {
		t.Error("the status lines are clickable")
	}
	if last := tm.menu.Items[len(tm.menu.Items)-1]; !last.IsQuit {
		t.Error("Quit is not marked as the quit item")
	}

	tm.set("Public URL: online", 3)
	if tm.status.Label != "Public URL: online" || tm.unseen.Label != "3 new hires" || refreshes != 1 {
		t.Errorf("after set: %q, %q, %d refreshes", tm.status.Label, tm.unseen.Label, refreshes)
	}
	tm.set("Public URL: online", 3)
	if refreshes != 1 {
		t.Error("an unchanged menu was pushed to the tray again")
	}
}

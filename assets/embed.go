// Package assets holds Hirebell's embedded files: the bell icon used for
// the window, the tray and notifications.
package assets

//go:generate go run render.go

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

// iconPNG is icon.svg rendered at 256 px. A PNG rather than the SVG itself,
// because the Linux tray (StatusNotifierItem) and the notification server
// take pixels, and small SVG renderings lose their strokes.
//
//go:embed icon.png
var iconPNG []byte

// Icon is Hirebell's bell, 256x256 PNG: for the window, the tray and
// notifications.
var Icon fyne.Resource = fyne.NewStaticResource("hirebell.png", iconPNG)

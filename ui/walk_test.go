package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// walkVisible calls fn for o and everything drawn under it, skipping
// hidden objects and their children.
func walkVisible(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	walkObjects(o, false, fn)
}

// walkAll calls fn for o and everything rendered under it, hidden or not.
func walkAll(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	walkObjects(o, true, fn)
}

func walkObjects(o fyne.CanvasObject, hidden bool, fn func(fyne.CanvasObject)) {
	if o == nil || !hidden && !o.Visible() {
		return
	}
	fn(o)
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			walkObjects(c, hidden, fn)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			walkObjects(c, hidden, fn)
		}
	}
}

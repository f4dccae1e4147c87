//go:build ignore

// render.go draws icon.png from icon.svg with the SVG rasteriser Fyne
// itself uses. Run it with `go generate ./assets/` after editing icon.svg.
package main

import (
	"image"
	"image/png"
	"log"
	"os"

	"github.com/fyne-io/oksvg"
	"github.com/srwiley/rasterx"
)

const size = 256

func main() {
	in, err := os.Open("icon.svg")
	if err != nil {
		log.Fatal(err)
	}
	defer in.Close()
	icon, err := oksvg.ReadIconStream(in)
	if err != nil {
		log.Fatal(err)
	}
	icon.SetTarget(0, 0, size, size)
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	scanner := rasterx.NewScannerGV(size, size, img, img.Bounds())
	icon.Draw(rasterx.NewDasher(size, size, scanner), 1)
	out, err := os.Create("icon.png")
	if err != nil {
		log.Fatal(err)
	}
	if err := png.Encode(out, img); err != nil {
		log.Fatal(err)
	}
	if err := out.Close(); err != nil {
		log.Fatal(err)
	}
}

//go:build !linux

package receiver

import "os"

func fdatasyncFile(f *os.File) error { return f.Sync() }

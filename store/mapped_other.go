//go:build !linux

package store

// ReleaseMappedPages tells the kernel that this process no longer needs
// the pages of the data file it has read. Only Linux is supported; elsewhere
// it does nothing.
func (s *Store) ReleaseMappedPages() error { return nil }

package store

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// ReleaseMappedPages tells the kernel that this process no longer needs
// the pages of the data file it has read. bbolt reads through a memory
// map, so a walk over every hire (the hires table's load) leaves the
// hires' pages, and their neighbours that the kernel maps along with them,
// counted in the process's resident memory: about 80 MB at 100,000 hires,
// which a desktop user sees as the app's size. The pages stay in the
// system's file cache, so reading them again costs a minor fault, not a
// disk read. Call it after a large read; it is cheap and safe at any time.
func (s *Store) ReleaseMappedPages() error {
	fi, err := os.Stat(filepath.Join(s.dir, FileName))
	if err != nil {
		return fmt.Errorf("release mapped pages: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	// A read transaction holds bbolt's lock against remapping, so the
	// mapping found below is still the file's while it is advised.
	return s.db.View(func(*bolt.Tx) error {
		ranges, err := fileMappings(st.Ino)
		if err != nil {
			return fmt.Errorf("release mapped pages: %w", err)
		}
		for _, r := range ranges {
			// MADV_DONTNEED on a shared, read-only file mapping only drops
			// this process's page-table entries: nothing is lost.
			if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, r[0], r[1]-r[0], syscall.MADV_DONTNEED); errno != 0 {
				return fmt.Errorf("release mapped pages: madvise: %w", errno)
			}
		}
		return nil
	})
}

// fileMappings returns the address ranges of this process's shared
// mappings of the file with inode ino (from /proc/self/maps).
func fileMappings(ino uint64) ([][2]uintptr, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][2]uintptr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := bytes.Fields(sc.Bytes())
		if len(fields) < 6 || len(fields[1]) < 4 || fields[1][3] != 's' ||
			string(fields[4]) != strconv.FormatUint(ino, 10) ||
			filepath.Base(string(fields[5])) != FileName {
			continue
		}
		lo, hi, ok := bytes.Cut(fields[0], []byte{'-'})
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(string(lo), 16, 64)
		end, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		out = append(out, [2]uintptr{uintptr(start), uintptr(end)})
	}
	return out, sc.Err()
}

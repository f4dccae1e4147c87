package store

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// mappedKB is how much of the data file this process has resident, in kB
// (the Rss lines of its mappings in /proc/self/smaps).
func mappedKB(t *testing.T, dir string) int {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	ino := strconv.FormatUint(fi.Sys().(*syscall.Stat_t).Ino, 10)
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kb, in, found := 0, false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && len(fields[1]) == 4 {
			// A mapping's first line: start-end perms offset dev inode [path].
			in = len(fields) >= 6 && fields[4] == ino && filepath.Base(fields[5]) == FileName
			found = found || in
			continue
		}
		if in && len(fields) == 3 && fields[0] == "Rss:" {
			n, err := strconv.Atoi(fields[1])
			if err != nil {
				t.Fatal(err)
			}
			kb += n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatal("the data file is not mapped")
	}
	return kb
}

func TestReleaseMappedPages(t *testing.T) {
	s, dir := openTemp(t)
	fill(t, s, 3000)
	before, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	read := mappedKB(t, dir)
	if read < 500 {
		t.Fatalf("only %d kB of the file resident after listing 3000 hires", read)
	}
	if err := s.ReleaseMappedPages(); err != nil {
		t.Fatal(err)
	}
	if left := mappedKB(t, dir); left > read/10 {
		t.Errorf("%d kB resident after release, %d kB before", left, read)
	}
	after, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(before, after, func(a, b Hire) bool { return a.ComeetID == b.ComeetID && a.FirstName == b.FirstName }) {
		t.Error("the hires read differently after the release")
	}
	mustSave(t, s, hireFor(t, "after-release"))
	if h, err := s.Get("after-release"); err != nil || h.FirstName != "First after-release" {
		t.Errorf("a hire saved after the release reads back as %+v, %v", h, err)
	}
}

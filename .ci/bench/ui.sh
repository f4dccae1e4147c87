#!/usr/bin/env bash
# ui.sh: the desktop app's speed and memory figures (issue 3, "Speed"),
# measured on the real binary under Xvfb with its own session bus.
#
#   .ci/bench/ui.sh            (make bench-ui)
#
# It builds hirebell from this checkout, a Fyne hello-world window
# (hello/main.go.txt) and a paint timer (paintwait.c); seeds stores of
# BENCH_HIRES (default 100000) and 1,000 realistic hires through the
# store's own SaveHire (store/seed_test.go); then measures, BENCH_RUNS
# (default 5) times each, and prints medians:
#
#  1. first paint: launch to the window mapped and its pixels no longer
#     one colour (paintwait polls XGetImage every 5 ms); also when the
#     pixels last changed (the table filled in after the background load),
#     for the big store and an empty one. Target: paint < 1 s.
#  2. resident memory (VmRSS, with RssAnon/RssFile) BENCH_RSS_DELAY
#     seconds after the window settled, hirebell with the big store vs the
#     hello-world window measured the same way. Target: ratio < 1.5.
#  3. `hirebell export` of the big and the 1,000-hire store: wall time and
#     maximum RSS (/usr/bin/time -v), next to `hirebell secret` on the same
#     store (opening the store and nothing else). Target: < 1 s, memory
#     not growing with the row count.
#  4. notification latency: with the app running (--no-tunnel) and a
#     notification server (dunst, when installed), BENCH_NOTIFY (default
#     20) signed hires one at a time, 0.4 s apart; for each, the time the
#     Notify call reached the session bus (dbus-monitor's time=) minus the
#     time the client read its 200. Target: p50 < 50 ms.
#
# Everything happens in a temporary folder that is removed at the end
# (BENCH_OUT=DIR keeps screenshots, logs and results there); HOME, the XDG
# folders and HIREBELL_DATA point inside it; the app listens on loopback
# only and never opens a tunnel. HIREBELL_BIN=path uses a prebuilt binary
# instead of building this checkout. The whole run is bounded by
# BENCH_TIMEOUT seconds (default 1800). It needs what `make deps-e2e`
# installs, gcc and the X11 headers; /usr/bin/time is installed with
# apt-get when missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

RUNS=${BENCH_RUNS:-5}
HIRES=${BENCH_HIRES:-100000}
SMALL=1000
NOTIFY=${BENCH_NOTIFY:-20}
SETTLE_MS=${BENCH_SETTLE_MS:-5000}
RSS_DELAY=${BENCH_RSS_DELAY:-2}
TIMEOUT=${BENCH_TIMEOUT:-1800}

log() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
	log "ui.sh: $*"
	exit 1
}
median() { python3 "$here/stats.py" median; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ---------------------------------------------------------------------------
# Inside xvfb-run and dbus-run-session: the window, memory and notification
# measurements. Called as: ui.sh __session (with the environment below).
# ---------------------------------------------------------------------------

pids=()
# gone PID: the process has ended (or is a zombie waiting to be reaped).
gone() { [ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
# stop_pids ends the programs this session started (apps are orphans of
# paintwait, so `wait` cannot see them: poll, then SIGKILL after 5 s).
stop_pids() {
	local p i
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		for i in $(seq 100); do
			gone "$p" && break
			sleep 0.05
		done
		gone "$p" || kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	pids=()
}

# wait_port PORT: until something listens on 127.0.0.1:PORT (10 s at most).
wait_port() {
	local i
	for i in $(seq 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# launch NAME TITLE CMD...: starts CMD under paintwait, which returns once
# the window has painted and then not changed for SETTLE_MS. Leaves the
# paintwait results (pid, map_ms, paint_ms, settle_ms, frames) in the
# shell variables of the same names and the program running (in $pids).
launch() {
	local name=$1 title=$2
	shift 2
	local res="$W/$name.res"
	pid='' map_ms='' paint_ms='' settle_ms='' frames='' timeout=''
	if ! "$W/bin/paintwait" -o "$res" -t "$title" -s "$SETTLE_MS" -T 60000 -- "$@" >>"$W/$name.log" 2>&1; then
		[ -s "$res" ] && cat "$res" >&2
		tail -20 "$W/$name.log" >&2 || true
		die "$name: the window '$title' did not paint in 60 s"
	fi
	# shellcheck disable=SC1090
	. "$res"
	pids+=("$pid")
}

# rss PID: "VmRSS RssAnon RssFile" in kB.
rss() {
	awk '/^VmRSS:/ {v=$2} /^RssAnon:/ {a=$2} /^RssFile:/ {f=$2} END {print v, a, f}' "/proc/$1/status"
}

# window_runs NAME TITLE CMD...: RUNS launches; per run one line of
# "map_ms paint_ms settle_ms frames VmRSS RssAnon RssFile" in $W/r/NAME.
window_runs() {
	local name=$1 title=$2 i
	shift 2
	for i in $(seq "$RUNS"); do
		launch "$name" "$title" "$@"
		sleep "$RSS_DELAY"
		local mem
		mem=$(rss "$pid")
		if [ "$i" = 1 ]; then
			import -window "$wid" "$W/$name.png" 2>/dev/null || true
		fi
		stop_pids
		echo "$map_ms $paint_ms $settle_ms $frames $mem" >>"$W/r/$name"
		log "  $name run $i: mapped ${map_ms} ms, painted ${paint_ms} ms, last change ${settle_ms} ms ($frames images), VmRSS/anon/file kB: $mem"
	done
}

# notify_run NAME DATA: the app on DATA, a warm-up hire, then NOTIFY hires.
notify_run() {
	local name=$1 data=$2 port
	port=$(free_port)
	"$W/bin/hirebell" secret --data "$data" >"$W/$name.secret" 2>>"$W/$name.log"
	dbus-monitor --session "type='method_call',interface='org.freedesktop.Notifications'" >"$W/$name.mon" 2>>"$W/$name.log" &
	pids+=($!)
	for _ in $(seq 100); do
		grep -q NameAcquired "$W/$name.mon" 2>/dev/null && break
		sleep 0.05
	done
	launch "$name" Hirebell "$W/bin/hirebell" --data "$data" --listen "127.0.0.1:$port" --no-tunnel
	wait_port "$port" || die "$name: nothing listens on 127.0.0.1:$port"
	local url="http://127.0.0.1:$port/hooks/comeet"
	# The first notification of a session loads the icon and opens the
	# bus connection: not what a hire normally costs. Then leave the burst
	# window (3 a second) before the measured ones.
	python3 "$here/send_hires.py" "$url" "$W/$name.secret" "$repo/store/testdata/sample-full.json" \
		"$W/$name.warm" --n 1 --tag W || die "$name: the warm-up hire was not answered 200"
	sleep 1.5
	python3 "$here/send_hires.py" "$url" "$W/$name.secret" "$repo/store/testdata/sample-full.json" \
		"$W/$name.sent" --n "$NOTIFY" --spacing 0.4 --tag M || die "$name: a hire was not answered 200"
	sleep 2 # the last notifications
	stop_pids
	python3 "$here/stats.py" notify "$W/$name.sent" "$W/$name.mon" >"$W/r/$name"
	log "  $name: $(cat "$W/r/$name")"
}

session() {
	mkdir -p "$W/r"
	log "display $DISPLAY, session bus up"
	log "window: $HIRES hires"
	window_runs paint-big Hirebell "$W/bin/hirebell" --data "$W/data-big" --listen "127.0.0.1:$(free_port)" --no-tunnel
	log "window: empty store"
	window_runs paint-empty Hirebell "$W/bin/hirebell" --data "$W/data-empty" --listen "127.0.0.1:$(free_port)" --no-tunnel
	log "window: Fyne hello world"
	window_runs hello Hello "$W/bin/hello"

	echo "none (the calls are still made and recorded)" >"$W/r/notify-server"
	if command -v dunst >/dev/null; then
		echo dunst >"$W/r/notify-server"
		dunst >>"$W/dunst.log" 2>&1 &
		pids_keep=$!
		for _ in $(seq 100); do
			dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
				org.freedesktop.DBus.NameHasOwner string:org.freedesktop.Notifications 2>/dev/null |
				grep -q 'boolean true' && break
			sleep 0.05
		done
	fi
	log "notifications: fresh store"
	notify_run notify-fresh "$W/data-notify"
	log "notifications: $HIRES hires"
	notify_run notify-big "$W/data-big"
	if [ -n "${pids_keep:-}" ]; then
		kill "$pids_keep" 2>/dev/null || true
		wait "$pids_keep" 2>/dev/null || true
	fi
}

if [ "${1:-}" = __session ]; then
	trap stop_pids EXIT
	session
	exit 0
fi

# ---------------------------------------------------------------------------
# Outside: tools, builds, seeding, export, then the session, then the table.
# ---------------------------------------------------------------------------

missing=()
for c in go gcc python3 xvfb-run xauth dbus-run-session dbus-monitor dbus-send import; do
	command -v "$c" >/dev/null || missing+=("$c")
done
[ -f /usr/include/X11/Xlib.h ] || missing+=("libx11-dev")
[ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} (make deps-e2e installs them)"
if [ ! -x /usr/bin/time ]; then
	log "installing the time package (/usr/bin/time)"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get install -y -qq --no-install-recommends time >/dev/null ||
		{ $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends time >/dev/null; } ||
		die "cannot install /usr/bin/time"
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/hirebell-bench.XXXXXX")
cleanup() {
	local rc=$?
	if [ -n "${BENCH_OUT:-}" ]; then
		mkdir -p "$BENCH_OUT"
		cp -r "$W/r" "$W"/*.png "$W"/*.log "$W"/*.mon "$W"/*.sent "$BENCH_OUT/" 2>/dev/null || true
	fi
	rm -rf "$W"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$W/bin" "$W/r"

# The builds use the real Go caches (offline, seconds); the apps get a home
# of their own.
GOCACHE=$(go env GOCACHE)
GOMODCACHE=$(go env GOMODCACHE)
GOPATH=$(go env GOPATH)
export GOCACHE GOMODCACHE GOPATH

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	commit="$commit (with uncommitted changes)"
fi

log "building hirebell, hello world, paintwait"
if [ -n "${HIREBELL_BIN:-}" ]; then
	cp "$HIREBELL_BIN" "$W/bin/hirebell"
	commit="$commit (binary: $HIREBELL_BIN)"
else
	(cd "$repo" && go build -o "$W/bin/hirebell" .) || die "hirebell does not build; see above"
fi
mkdir -p "$W/hello"
cp "$here/hello/main.go.txt" "$W/hello/main.go"
sed 's/^module .*/module hellobench/' "$repo/go.mod" >"$W/hello/go.mod"
cp "$repo/go.sum" "$W/hello/go.sum"
grep -q 'fyne.io/fyne/v2 v2.7.1' "$W/hello/go.mod" || die "go.mod does not require fyne.io/fyne/v2 v2.7.1"
(cd "$W/hello" && GOPROXY=off GOFLAGS=-mod=mod go build -o "$W/bin/hello" .) || die "the hello-world window does not build"
gcc -O2 -o "$W/bin/paintwait" "$here/paintwait.c" -lX11 || die "paintwait does not build"

export HOME="$W/home" XDG_CONFIG_HOME="$W/home/.config" XDG_DATA_HOME="$W/home/.local/share" \
	XDG_CACHE_HOME="$W/home/.cache" XDG_RUNTIME_DIR="$W/run" HIREBELL_DATA="$W/data-default" LANG=en_US.UTF-8
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"

seed() {
	local dir=$1 n=$2 t0
	t0=$(date +%s)
	(cd "$repo" && HIREBELL_SEED_DIR="$dir" HIREBELL_SEED_N="$n" go test -run '^TestSeedStore$' -count=1 -v -timeout 15m ./store/ >"$W/seed-$n.log" 2>&1) ||
		{ tail -20 "$W/seed-$n.log" >&2; die "seeding $n hires failed"; }
	log "  $(grep -o 'seeded.*' "$W/seed-$n.log") ($(($(date +%s) - t0)) s with the build)"
}
log "seeding $HIRES and $SMALL hires"
seed "$W/data-big" "$HIRES"
seed "$W/data-small" "$SMALL"

# export_runs NAME DATA ROWS: RUNS exports; per run "wall_ms maxrss_kB cpu_ms".
export_runs() {
	local name=$1 data=$2 rows=$3 i t0 t1
	for i in $(seq "$RUNS"); do
		t0=$(date +%s%N)
		/usr/bin/time -v -o "$W/$name.time" "$W/bin/hirebell" export --data "$data" --out "$W/$name.csv" 2>>"$W/$name.log"
		t1=$(date +%s%N)
		local lines
		lines=$(wc -l <"$W/$name.csv")
		[ "$lines" -eq $((rows + 1)) ] || die "$name: the CSV has $lines lines, want $((rows + 1))"
		echo "$(((t1 - t0) / 1000000)) $(awk -F': ' '/Maximum resident/ {r=$2} /User time/ {u=$2} /System time/ {s=$2} END {print r, (u + s) * 1000}' "$W/$name.time")" >>"$W/r/$name"
		/usr/bin/time -v -o "$W/$name-open.time" "$W/bin/hirebell" secret --data "$data" >/dev/null 2>>"$W/$name.log"
		awk -F': ' '/Maximum resident/ {print $2}' "$W/$name-open.time" >>"$W/r/$name-open"
	done
	rm -f "$W/$name.csv"
	log "  $name: wall ms, max RSS kB, CPU ms: $(tr '\n' ';' <"$W/r/$name")"
}
log "export"
export_runs export-big "$W/data-big" "$HIRES"
export_runs export-small "$W/data-small" "$SMALL"

export W RUNS HIRES NOTIFY SETTLE_MS RSS_DELAY
# (dbus-daemon's complaint about the fd limit of a non-root session is noise)
rc=0
timeout --kill-after=10 "$TIMEOUT" xvfb-run -a -e "$W/xvfb.log" -s "-screen 0 1280x800x24" \
	dbus-run-session -- bash "$here/ui.sh" __session \
	2> >(grep --line-buffered -v 'Failed to set fd limit' >&2) || rc=$?
[ "$rc" = 0 ] || die "the window measurements failed (status $rc)"
[ -s "$W/r/notify-big" ] || die "the window measurements did not finish"

# ---------------------------------------------------------------------------
# The table.
# ---------------------------------------------------------------------------

col() { awk -v c="$2" '{print $c}' "$W/r/$1" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "NA" }'; }
mb() { awk -v k="$1" -v o="${2:-0}" 'BEGIN { printf "%.0f MB", (k - o) / 1024 }'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { if (v == "NA") print "n/a"; else if (v + 0 <= t + 0) print "ok"; else print "MISSED" }'; }
nfield() { tr ' ' '\n' <"$W/r/$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }

paint_big=$(col paint-big 2) rows_big=$(col paint-big 3) map_big=$(col paint-big 1)
paint_empty=$(col paint-empty 2) map_empty=$(col paint-empty 1)
paint_hello=$(col hello 2)
rss_big=$(col paint-big 5) anon_big=$(col paint-big 6) file_big=$(col paint-big 7)
rss_empty=$(col paint-empty 5) anon_empty=$(col paint-empty 6)
rss_hello=$(col hello 5) anon_hello=$(col hello 6)
rss_ratio=$(ratio "$rss_big" "$rss_hello")
anon_ratio=$(ratio "$anon_big" "$anon_hello")
exp_big=$(col export-big 1) exp_small=$(col export-small 1)
exprss_big=$(col export-big 2) exprss_small=$(col export-small 2)
expcpu_big=$(col export-big 3) expcpu_small=$(col export-small 3)
unfilled=$(awk '$4 < 2' "$W/r/paint-big" | wc -l)
open_big=$(median <"$W/r/export-big-open") open_small=$(median <"$W/r/export-small-open")
nf50=$(nfield notify-fresh p50) nf90=$(nfield notify-fresh p90) nfn=$(nfield notify-fresh n) nfm=$(nfield notify-fresh missing)
nb50=$(nfield notify-big p50) nb90=$(nfield notify-big p90) nbn=$(nfield notify-big n) nbm=$(nfield notify-big missing)
nfrtt=$(nfield notify-fresh rtt50) nbrtt=$(nfield notify-big rtt50)
big=$(printf "%'d" "$HIRES" 2>/dev/null || echo "$HIRES")

{
	echo
	echo "Hirebell desktop benchmark: commit $commit, $(nproc) cores, load average $load_start at start, $(cut -d' ' -f1-3 /proc/loadavg) at end"
	echo "medians of $RUNS runs; stores seeded through SaveHire with ~2.5 KB realistic payloads"
	echo
	printf '%-52s %16s %12s %8s\n' "measure" "value" "target" "verdict"
	printf '%-52s %16s %12s %8s\n' "-------" "-----" "------" "-------"
	printf '%-52s %13s ms %12s %8s\n' "first paint, $big hires (launch to content)" "$paint_big" "< 1000 ms" "$(verdict "$paint_big" 1000)"
	printf '%-52s %13s ms %12s %8s\n' "  window mapped" "$map_big" "" ""
	printf '%-52s %13s ms %12s %8s\n' "  table filled (last change of the window)" "$rows_big" "" ""
	[ "$unfilled" = 0 ] || echo "  ($unfilled runs showed no change after the first paint within ${SETTLE_MS} ms: raise BENCH_SETTLE_MS)"
	printf '%-52s %13s ms %12s %8s\n' "first paint, empty store" "$paint_empty" "< 1000 ms" "$(verdict "$paint_empty" 1000)"
	printf '%-52s %13s ms %12s %8s\n' "  window mapped" "$map_empty" "" ""
	printf '%-52s %13s ms %12s %8s\n' "first paint, Fyne hello world" "$paint_hello" "" ""
	printf '%-52s %16s %12s %8s\n' "VmRSS, $big hires" "$(mb "$rss_big")" "" ""
	printf '%-52s %16s %12s %8s\n' "  of which anonymous / file-backed" "$(mb "$anon_big") / $(mb "$file_big")" "" ""
	printf '%-52s %16s %12s %8s\n' "VmRSS, empty store" "$(mb "$rss_empty")" "" ""
	printf '%-52s %16s %12s %8s\n' "VmRSS, Fyne hello world (same window size)" "$(mb "$rss_hello")" "" ""
	printf '%-52s %15sx %12s %8s\n' "VmRSS ratio, $big hires / hello world" "$rss_ratio" "< 1.5x" "$(verdict "$rss_ratio" 1.5)"
	printf '%-52s %15sx %12s %8s\n' "  anonymous memory ratio (RssAnon)" "$anon_ratio" "" ""
	printf '%-52s %15sx %12s %8s\n' "  empty store / hello world (VmRSS)" "$(ratio "$rss_empty" "$rss_hello")" "" ""
	printf '%-52s %13s ms %12s %8s\n' "CSV export, $big hires, wall" "$exp_big" "< 1000 ms" "$(verdict "$exp_big" 1000)"
	printf '%-52s %13s ms %12s %8s\n' "  CPU time (user + system)" "$expcpu_big" "" ""
	printf '%-52s %13s ms %12s %8s\n' "CSV export, $SMALL hires, wall" "$exp_small" "" ""
	printf '%-52s %13s ms %12s %8s\n' "  CPU time (user + system)" "$expcpu_small" "" ""
	printf '%-52s %16s %12s %8s\n' "export max RSS, $big / $SMALL hires" "$(mb "$exprss_big") / $(mb "$exprss_small")" "" ""
	printf '%-52s %16s %12s %8s\n' "  open the store only (hirebell secret), same" "$(mb "$open_big") / $(mb "$open_small")" "" ""
	printf '%-52s %16s %12s %8s\n' "  export minus open, $big / $SMALL hires" "$(mb "$exprss_big" "$open_big") / $(mb "$exprss_small" "$open_small")" "flat" ""
	printf '%-52s %13s ms %12s %8s\n' "notification after the 200, p50, fresh store" "$nf50" "< 50 ms" "$(verdict "$nf50" 50)"
	printf '%-52s %13s ms %12s %8s\n' "  p90 ($nfn hires, $nfm not notified)" "$nf90" "" ""
	printf '%-52s %13s ms %12s %8s\n' "  send to 200, p50" "$nfrtt" "" ""
	printf '%-52s %13s ms %12s %8s\n' "notification after the 200, p50, $big hires" "$nb50" "< 50 ms" "$(verdict "$nb50" 50)"
	printf '%-52s %13s ms %12s %8s\n' "  p90 ($nbn hires, $nbm not notified)" "$nb90" "" ""
	printf '%-52s %13s ms %12s %8s\n' "  send to 200, p50" "$nbrtt" "" ""
	echo
	echo "notification server on the session bus: $(cat "$W/r/notify-server")"
	echo "VmRSS counts file-backed pages too: the store's memory-mapped file and the shared libraries."
	echo
	echo "per-run values: map_ms paint_ms last_change_ms images VmRSS_kB RssAnon_kB RssFile_kB"
	for f in paint-big paint-empty hello; do
		echo "  $f: $(tr '\n' ';' <"$W/r/$f")"
	done
	echo "  export wall_ms max_rss_kB cpu_ms: big: $(tr '\n' ';' <"$W/r/export-big")  small: $(tr '\n' ';' <"$W/r/export-small")"
	echo "  notification ms after the 200, fresh: $(nfield notify-fresh all)"
	echo "  notification ms after the 200, big: $(nfield notify-big all)"
} | tee "$W/r/summary.txt"

#!/usr/bin/env bash
# session.sh OUT CMD...: run inside `xvfb-run ... dbus-run-session --`. It
# records every call to the notification service, tells the test how to
# reach this display and session bus (OUT/env), runs CMD, and exits with
# CMD's status (also written to OUT/app.rc).
set -u
out=$1
shift
dbus-monitor --session "type='method_call',interface='org.freedesktop.Notifications'" >"$out/notify.log" 2>"$out/monitor.err" &
mon=$!
# dbus-monitor prints NameAcquired once it is connected: only then can the
# app's first notification not be missed.
for _ in $(seq 100); do
	grep -q NameAcquired "$out/notify.log" 2>/dev/null && break
	sleep 0.05
done
# A notification server, as on a desktop (else the bus starts one on the
# first notification, and that start-up is counted in its latency).
if command -v dunst >/dev/null; then
	dunst >"$out/dunst.log" 2>&1 &
	for _ in $(seq 100); do
		gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
			--method org.freedesktop.DBus.NameHasOwner org.freedesktop.Notifications 2>/dev/null | grep -q true && break
		sleep 0.05
	done
fi
"$@" &
app=$!
printf 'DBUS_SESSION_BUS_ADDRESS=%s\nDISPLAY=%s\nXAUTHORITY=%s\nAPP_PID=%s\n' "$DBUS_SESSION_BUS_ADDRESS" "$DISPLAY" "${XAUTHORITY:-}" "$app" >"$out/env.tmp"
mv "$out/env.tmp" "$out/env"
wait "$app"
rc=$?
echo "$rc" >"$out/app.rc"
kill "$mon" 2>/dev/null
wait "$mon" 2>/dev/null
exit "$rc"

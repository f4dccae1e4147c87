#!/usr/bin/env python3
"""Small statistics for .ci/bench/ui.sh.

    stats.py median            numbers on stdin, one a line -> their median
    stats.py notify SENT MON   latency of notifications after the 200

notify matches each hire of SENT (send_hires.py's TSV) with the
org.freedesktop.Notifications.Notify call in MON (dbus-monitor's log)
whose summary (title) is that hire's name, and prints one line:

    n=<matched> missing=<unmatched> p50=<ms> p90=<ms> min=<ms> max=<ms> rtt50=<ms> all=<ms,...>

where each value is (time the Notify call reached the bus) - (time the
client read its 200), in milliseconds; rtt50 is the median time from
sending a hire to reading its 200. Percentiles are nearest-rank.
"""

import math
import re
import statistics
import sys

HEADER = re.compile(r"^method call time=(\d+\.\d+) .*member=Notify\b")
STRING = re.compile(r'^\s+string "(.*)"$')


def nearest_rank(values, p):
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def notify_calls(path):
    """Yield (time, summary) for each Notify call in a dbus-monitor log."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    i = 0
    while i < len(lines):
        m = HEADER.match(lines[i])
        i += 1
        if not m:
            continue
        strings = []
        while i < len(lines) and lines[i].startswith(" "):
            s = STRING.match(lines[i])
            if s:
                strings.append(s.group(1))
            i += 1
        # Notify(app_name s, replaces_id u, app_icon s, summary s, body s, ...)
        if len(strings) >= 3:
            yield float(m.group(1)), strings[2]


def notify(sent_path, mon_path):
    first = {}
    for t, summary in notify_calls(mon_path):
        first.setdefault(summary, t)
    deltas, rtts, missing = [], [], 0
    with open(sent_path, encoding="utf-8") as f:
        for line in f:
            title, sent, answered, status = line.rstrip("\n").split("\t")
            if status != "200" or title not in first:
                missing += 1
                continue
            deltas.append((first[title] - float(answered)) * 1000)
            rtts.append((float(answered) - float(sent)) * 1000)
    if not deltas:
        print(f"n=0 missing={missing} p50=NA p90=NA min=NA max=NA rtt50=NA all=")
        return
    print("n=%d missing=%d p50=%.1f p90=%.1f min=%.1f max=%.1f rtt50=%.1f all=%s" % (
        len(deltas), missing, nearest_rank(deltas, 50), nearest_rank(deltas, 90),
        min(deltas), max(deltas), nearest_rank(rtts, 50), ",".join("%.1f" % d for d in deltas)))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "median":
        values = [float(x) for x in sys.stdin.read().split()]
        if not values:
            print("NA")
        else:
            m = statistics.median(values)
            print(int(m) if m == int(m) else "%.1f" % m)
    elif len(sys.argv) == 4 and sys.argv[1] == "notify":
        notify(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

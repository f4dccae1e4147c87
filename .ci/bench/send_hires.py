#!/usr/bin/env python3
"""Deliver signed hires to a running Hirebell one at a time, as Comeet does.

    send_hires.py URL SECRET_FILE TEMPLATE_JSON OUT_TSV [--n 20] [--spacing 0.4] [--tag T]

Each hire is TEMPLATE_JSON (a Comeet payload) with its own comeet_id and a
unique name "Latency Probe<T><i>", so that its notification can be found
on the session bus by title. The body is signed as Comeet signs it
(header "Signature: sha256 <hex HMAC-SHA256 of the raw body>").

OUT_TSV gets one line per hire: notification title, wall time the request
was sent, wall time the 200 was read (seconds since the epoch, the clock
dbus-monitor stamps messages with), HTTP status. Requests start every
SPACING seconds; the exit status is 1 unless every answer was 200.
"""

import argparse
import copy
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("secret_file")
    ap.add_argument("template")
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--spacing", type=float, default=0.4)
    ap.add_argument("--tag", default="")
    args = ap.parse_args()

    with open(args.secret_file, encoding="utf-8") as f:
        secret = f.read().strip().encode()
    with open(args.template, encoding="utf-8") as f:
        template = json.load(f)

    ok = True
    start = time.monotonic()
    with open(args.out, "w", encoding="utf-8") as out:
        for i in range(args.n):
            p = copy.deepcopy(template)
            last = f"Probe{args.tag}{i:03d}"
            p["comeet_id"] = f"LAT.{args.tag}{i:03d}"
            p["person_uid"] = f"LATP.{args.tag}{i:03d}"
            p["first_name"], p["middle_name"], p["last_name"] = "Latency", None, last
            p["email"] = f"latency.{last.lower()}@mail.example"
            body = json.dumps(p).encode()
            sig = "sha256 " + hmac.new(secret, body, hashlib.sha256).hexdigest()
            req = urllib.request.Request(
                args.url, data=body, method="POST",
                headers={"Content-Type": "application/json", "Signature": sig})
            sent = time.time()
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    resp.read()
                    status = resp.status
            except urllib.error.HTTPError as e:
                status = e.code
            except OSError as e:
                print(f"send_hires: hire {i}: {e}", file=sys.stderr)
                status = 0
            answered = time.time()
            ok = ok and status == 200
            out.write(f"Latency {last}\t{sent:.6f}\t{answered:.6f}\t{status}\n")
            out.flush()
            pause = start + (i + 1) * args.spacing - time.monotonic()
            if pause > 0:
                time.sleep(pause)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

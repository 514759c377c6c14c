#!/usr/bin/env python3
"""tests/failover/gates.py — gates that keep sending captures to facegate servers.

Each gate thread posts encounters (multipart, a real photo) to one of the
servers in turn, every capture with its own Idempotency-Key. On a 503 it waits
the Retry-After and sends the SAME capture with the SAME key again (to any
server), as a gate would after a time-out or a failover; any other answer ends
that capture. It runs until the file named by --stop-file exists, then writes
one JSON report: every capture's key, final status, encounter id, gate action and
whether it was a replay; the count of each HTTP status seen; and the moments
(monotonic seconds) of every answer, so that the outage can be measured.

Only the standard library: it runs wherever python3 does.
"""
import argparse
import http.client
import json
import os
import threading
import time
import uuid


def post(host, port, token, fields, image, key, timeout):
    boundary = "----facegate" + uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                      % (boundary, name, value)).encode())
    parts.append(("--%s\r\nContent-Disposition: form-data; name=\"image\"; filename=\"c.jpg\"\r\n"
                  "Content-Type: image/jpeg\r\n\r\n" % boundary).encode() + image + b"\r\n")
    parts.append(("--%s--\r\n" % boundary).encode())
    body = b"".join(parts)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", "/v1/encounters", body, {
            "Authorization": "Bearer " + token,
            "Content-Type": "multipart/form-data; boundary=" + boundary,
            "Idempotency-Key": key})
        r = conn.getresponse()
        data = r.read()
        return r.status, r.getheader("Retry-After"), data
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--servers", required=True, help="host:port,host:port")
    ap.add_argument("--token", required=True)
    ap.add_argument("--manifest", required=True, type=int)
    ap.add_argument("--images", required=True, help="comma-separated photo files")
    ap.add_argument("--gates", type=int, default=4)
    ap.add_argument("--stop-file", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    servers = [(s.split(":")[0], int(s.split(":")[1])) for s in a.servers.split(",")]
    images = [open(p, "rb").read() for p in a.images.split(",")]
    lock = threading.Lock()
    captures, statuses, answers = [], {}, []

    def gate(g):
        n = 0
        while not os.path.exists(a.stop_file):
            key = "gate%d-%d-%s" % (g, n, uuid.uuid4().hex[:8])
            image = images[(g + n) % len(images)]
            fields = {"manifest_id": str(a.manifest), "gate": "F%d" % g}
            tries, final = 0, None
            while final is None:
                host, port = servers[(g + n + tries) % len(servers)]
                tries += 1
                try:
                    status, retry_after, data = post(host, port, a.token, fields, image, key, 30)
                except (OSError, http.client.HTTPException) as e:  # server gone: retry, same key
                    status, retry_after, data = 0, "1", str(e).encode()
                t = time.monotonic()
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    answers.append((t, status))
                if status in (0, 503):
                    time.sleep(min(float(retry_after or 1), 1.0))
                    continue
                final = {"key": key, "status": status, "tries": tries, "at": t}
                if status == 201:
                    j = json.loads(data)
                    # the gate's view: the action only ("proceed": a crossing was recorded)
                    final.update(encounter_id=j["encounter_id"], gate_action=j["gate_action"],
                                 replayed=j.get("replayed", False))
                else:
                    final["body"] = data.decode(errors="replace")[:300]
            with lock:
                captures.append(final)
            n += 1

    threads = [threading.Thread(target=gate, args=(g,)) for g in range(a.gates)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    json.dump({"captures": captures, "statuses": {str(k): v for k, v in statuses.items()},
               "answers": answers}, open(a.out, "w"))


if __name__ == "__main__":
    main()

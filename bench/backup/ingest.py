#!/usr/bin/env python3
"""Uploads a directory tree into a running covault server over its REST API.

    ingest.py --url http://127.0.0.1:PORT [--token T] [--jobs 4] [--files LIST] [--tier T] DIR

Each file goes as `PUT /v1/files/<its path relative to DIR>` (percent-encoded per
component, as the CLI does), body streamed from disk, `Authorization: Bearer <token>`
(--token or COVAULT_TOKEN). --jobs threads (default 4), each on one keep-alive connection.
--files names the files to send, one relative path per line ("-": standard input, e.g. what
`gen.py --mutate` prints); the whole tree otherwise. Any non-2xx answer stops the run with
the status and body and exit status 1. Prints files, bytes and elapsed time to stderr.
Standard library only.
"""

import argparse
import http.client
import os
import queue
import sys
import threading
import time
import urllib.parse


def walk(root):
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            yield os.path.relpath(os.path.join(d, name), root).replace(os.sep, "/")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", default=os.environ.get("COVAULT_TOKEN"))
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--files", help="list of relative paths, one a line; - for stdin")
    ap.add_argument("--tier", help="public, internal, confidential or restricted")
    a = ap.parse_args()
    if not a.token:
        sys.exit("ingest.py: no token (--token or COVAULT_TOKEN)")
    url = urllib.parse.urlsplit(a.url)
    conn_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    prefix = url.path.rstrip("/") + "/v1/files/"
    query = "?" + urllib.parse.urlencode({"tier": a.tier}) if a.tier else ""
    if a.files:
        lines = sys.stdin if a.files == "-" else open(a.files)
        paths = [p.strip() for p in lines if p.strip()]
    else:
        paths = list(walk(a.dir))

    todo = queue.Queue()
    for p in paths:
        todo.put(p)
    failed = threading.Event()
    errors, counts, lock = [], [0, 0], threading.Lock()

    def put(conn, rel, size):
        target = prefix + urllib.parse.quote(rel, safe="/") + query
        headers = {"Authorization": f"Bearer {a.token}", "Content-Length": str(size),
                   "Content-Type": "application/octet-stream"}
        with open(os.path.join(a.dir, rel), "rb") as body:
            conn.request("PUT", target, body=body, headers=headers)
            resp = conn.getresponse()
            text = resp.read()
        if not 200 <= resp.status < 300:
            raise RuntimeError(f"PUT {target}: {resp.status} {resp.reason}: "
                               f"{text[:500].decode(errors='replace')}")

    def worker():
        conn = None
        try:
            while not failed.is_set():
                try:
                    rel = todo.get_nowait()
                except queue.Empty:
                    return
                size = os.path.getsize(os.path.join(a.dir, rel))
                try:
                    if conn is None:
                        conn = conn_class(url.hostname, url.port, timeout=600, blocksize=256 << 10)
                    put(conn, rel, size)
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    # The server closed an idle keep-alive connection: once more, on a new one.
                    conn.close()
                    conn = conn_class(url.hostname, url.port, timeout=600, blocksize=256 << 10)
                    put(conn, rel, size)
                with lock:
                    counts[0] += 1
                    counts[1] += size
        except Exception as e:  # noqa: BLE001 - any failure ends the run, loudly
            with lock:
                errors.append(f"{type(e).__name__}: {e}")
            failed.set()
        finally:
            if conn is not None:
                conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(max(1, a.jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    if errors:
        for e in errors:
            print(f"ingest.py: {e}", file=sys.stderr)
        sys.exit(1)
    files, size = counts
    print(f"ingest.py: {files} files, {size} bytes in {elapsed:.2f} s "
          f"({size / 1e6 / max(elapsed, 1e-9):.1f} MB/s, {files / max(elapsed, 1e-9):.0f} files/s)",
          file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Deterministic dataset for bench/backup.sh (Python standard library only).

    gen.py OUT_DIR [--seed N] [--scale F]      write the dataset (scale 1.0 is about 1 GB)
    gen.py OUT_DIR --seed N --mutate 0.01      change about 1% of its bytes in place

The same seed and scale give byte-identical trees on any OS. At scale 1.0:
  docs/   ~220 MB English-like text (a seeded, Zipf-weighted word list), 16 KiB-8 MiB files
  logs/   ~180 MB timestamped log lines, 256 KiB-32 MiB files
  blobs/  ~300 MB random bytes (incompressible), 256 KiB-64 MiB files
  small/  20,000 files of 0.5-8 KB (x scale, at least 200): text, log lines, a few binary
  dup/    ~90 MB exact copies of other files under other names
  near/   ~90 MB shifted near-duplicates: 1-16 bytes inserted in the first 4 KiB, 1-4 small
          overwrites around the middle
No file exceeds 64 MiB. --mutate (about 55% of the changed bytes) overwrites or inserts
spans in 5% of the files over 64 KiB and 1% of the smaller ones, (15%) appends lines to some
logs and (30%) adds new files, half large, half small; nothing is deleted. It prints every
changed or new path, relative to OUT_DIR, one per line on stdout, sorted. Summaries go to
stderr.
"""

import argparse
import itertools
import os
import random
import sys
import time

KiB, MiB = 1 << 10, 1 << 20
MAX_FILE = 64 * MiB
SERVICES = ["api", "auth", "billing", "gateway", "indexer", "mailer", "scheduler", "worker"]
LEVELS = ["INFO"] * 14 + ["DEBUG"] * 4 + ["WARN"] * 2 + ["ERROR"]
ENDS = [". "] * 12 + [".\n\n"] * 3 + ["? ", "! ", ", "]


class Text:
    """English-like text: words made of syllables, drawn with Zipf weights, in sentences."""

    def __init__(self, rng, words=6000):
        self.rng = rng
        onsets = ["", "b", "c", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "w",
                  "br", "ch", "cl", "dr", "fr", "gr", "pl", "pr", "sh", "st", "th", "tr"]
        vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "ou", "oo", "io"]
        codas = ["", "", "", "n", "r", "s", "t", "l", "nd", "ng", "st", "ck", "rt", "m"]
        vocab = ["the", "of", "and", "to", "a", "in", "is", "that", "for", "it", "as", "was",
                 "with", "be", "by", "on", "not", "he", "this", "are", "or", "his", "from"]
        seen = set(vocab)
        while len(vocab) < words:
            w = "".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas)
                        for _ in range(rng.choice([1, 1, 2, 2, 2, 3, 3, 4])))
            if w not in seen and not any(b in w for b in ("fuck", "shit", "cunt")):
                seen.add(w)
                vocab.append(w)
        self.vocab = vocab[:23] + sorted(vocab[23:], key=len)  # frequent words are short
        self.cum = list(itertools.accumulate(1 / (r + 1) ** 1.05 for r in range(words)))

    def words(self, k):
        return self.rng.choices(self.vocab, cum_weights=self.cum, k=k)

    def make(self, size):
        rng, out, n = self.rng, [], 0
        while n < size:
            words = self.words(min(200_000, (size - n) // 5 + 16))
            i = 0
            while i < len(words):
                s = words[i:i + rng.randint(4, 24)]
                i += len(s)
                s[0] = s[0].capitalize()
                out.append(" ".join(s) + rng.choice(ENDS))
                n += len(out[-1])
        return "".join(out).encode()[:size]


def log_lines(rng, text, size, t):
    """Log lines from time t on (epoch seconds); returns (bytes, the time reached)."""
    out, n, stamp_sec, stamp = [], 0, None, ""
    while n < size:
        t += rng.expovariate(20.0)
        if int(t) != stamp_sec:
            stamp_sec = int(t)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp_sec))
        svc, lvl, kind = rng.choice(SERVICES), rng.choice(LEVELS), rng.randrange(5)
        w = text.words(3)
        if kind == 0:
            msg = (f"GET /api/v1/{w[0]}/{rng.randrange(100000)} {rng.choice([200] * 9 + [404, 500])}"
                   f" {rng.randrange(1, 900)}ms ip=10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}")
        elif kind == 1:
            msg = f"job {rng.randrange(1 << 32):08x} finished in {rng.randrange(5000)} ms, {rng.randrange(10000)} rows"
        elif kind == 2:
            msg = f"cache miss key={w[0]}:{w[1]}:{rng.randrange(1000)}"
        elif kind == 3:
            msg = f"connection to {w[0]}-{rng.randrange(8)}.internal reset by peer (retry {rng.randrange(1, 6)}/5)"
        else:
            msg = " ".join(text.words(rng.randint(4, 12)))
        line = f"{stamp}.{int(t * 1000) % 1000:03d}Z {lvl:<5} {svc}[{rng.randrange(100, 9999)}]: {msg}\n"
        out.append(line)
        n += len(line)
    return "".join(out).encode()[:size], t


def sizes(rng, budget, lo, hi):
    """File sizes, log-uniform in [lo, hi] (hi cut to budget/4 so small scales get several)."""
    hi = max(lo, min(hi, budget // 4))
    out = []
    while budget > 0:
        s = min(budget, int(lo * (hi / lo) ** rng.random()))
        out.append(s)
        budget -= s
    return out


def write(root, rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def generate(root, seed, scale):
    rng = random.Random(seed)
    text = Text(rng)
    topics = text.vocab[200:260]
    made = []  # (relative path, size), in creation order
    total = 1e9 * scale

    def put(rel, data):
        made.append((rel, write(root, rel, data)))

    for i, s in enumerate(sizes(rng, int(0.22 * total), 16 * KiB, 8 * MiB)):
        put(f"docs/{rng.choice(topics)}/{'-'.join(text.words(2))}-{i}.txt", text.make(s))
    t = 1_767_225_600.0  # 2026-01-01
    for i, s in enumerate(sizes(rng, int(0.18 * total), 256 * KiB, 32 * MiB)):
        data, t = log_lines(rng, text, s, t)
        put(f"logs/{SERVICES[i % len(SERVICES)]}-{i:03d}.log", data)
    for i, s in enumerate(sizes(rng, int(0.30 * total), 256 * KiB, MAX_FILE)):
        put(f"blobs/{i:04d}.bin", rng.randbytes(s))
    for i in range(max(200, round(20_000 * scale))):
        s, kind, rel = rng.randint(512, 8192), rng.random(), f"small/{i // 100:03d}/"
        if kind < 0.8:
            put(rel + f"{text.words(1)[0]}-{i}.txt", text.make(s))
        elif kind < 0.9:
            data, t = log_lines(rng, text, s, t)
            put(rel + f"{i}.log", data)
        else:
            put(rel + f"{i}.dat", rng.randbytes(s))
    originals = list(made)

    large = [m for m in originals if m[1] >= 64 * KiB]
    small = [m for m in originals if m[1] < 64 * KiB]
    spent, i = 0, 0
    while spent < 0.09 * total:  # bytes come from the large files, about 4 small per large
        rel, size = rng.choice(large if rng.random() < 0.2 else small)
        with open(os.path.join(root, rel), "rb") as f:
            data = f.read()
        put(f"dup/{i:04d}-{os.path.basename(rel)}", data)
        spent, i = spent + size, i + 1
    spent, i = 0, 0
    while spent < 0.09 * total:
        rel, size = rng.choice(large)
        with open(os.path.join(root, rel), "rb") as f:
            data = bytearray(f.read())
        at = rng.randrange(min(4096, size))
        data[at:at] = rng.randbytes(rng.randint(1, 16))
        for _ in range(rng.randint(1, 4)):
            at = size // 2 + rng.randint(-size // 10, size // 10)
            n = rng.randint(1, 64)
            data[at:at + n] = rng.randbytes(n)
        put(f"near/{i:04d}-{os.path.basename(rel)}", bytes(data[:MAX_FILE]))
        spent, i = spent + size, i + 1
    return made


def tree(root):
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(d, name)
            out.append((os.path.relpath(path, root).replace(os.sep, "/"), os.path.getsize(path)))
    return out


def mutate(root, seed, frac):
    files = tree(root)
    if not files:
        sys.exit(f"gen.py: no files in {root}")
    rng = random.Random(seed * 1_000_003 + 7)
    text = Text(random.Random(seed))
    budget = int(frac * sum(s for _, s in files))
    changed, added, done = set(), [], 0

    def filler(rel, n):
        return rng.randbytes(n) if rel.endswith((".bin", ".dat")) else text.make(n)

    large = [f for f in files if f[1] >= 64 * KiB] or files
    small = [f for f in files if f[1] < 64 * KiB] or files
    large = rng.sample(large, max(1, len(large) // 20))  # edits go to 5% of the large files
    small = rng.sample(small, max(1, len(small) // 100))  # and 1% of the small ones
    while done < 0.55 * budget:  # overwrite (70%) or insert (30%) a span in an existing file
        rel = rng.choice(large if rng.random() < 0.7 else small)[0]
        path = os.path.join(root, rel)
        size = os.path.getsize(path)
        if size == 0:
            continue
        n = min(size, int(16 * (256 * KiB / 16) ** rng.random()), int(0.55 * budget) - done + 1)
        at = rng.randrange(size - n + 1)
        if rng.random() < 0.7 or size + n > MAX_FILE:
            with open(path, "r+b") as f:
                f.seek(at)
                f.write(filler(rel, n))
        else:
            with open(path, "rb") as f:
                data = f.read()
            write(root, rel, data[:at] + filler(rel, n) + data[at:])
        changed.add(rel)
        done += n
    logs = [(r, s) for r, s in files if r.startswith("logs/")] or files
    t = 1_798_761_600.0  # 2027-01-01: appended lines come after the original ones
    while done < 0.70 * budget:  # append lines to a few logs
        rel = rng.choice(logs)[0]
        size = os.path.getsize(os.path.join(root, rel))
        n = min(MAX_FILE - size, rng.randint(4 * KiB, max(8 * KiB, budget // 20)))
        if n > 0:
            data, t = log_lines(rng, text, n, t)
            with open(os.path.join(root, rel), "ab") as f:
                f.write(data)
            changed.add(rel)
        done += max(n, 1)
    dirs = sorted({r.rsplit("/", 1)[0] for r, _ in files if "/" in r})
    i = 0
    while done < budget:  # new files: half large text or binary, half small ones
        d = rng.choice(dirs)
        if done < 0.85 * budget:
            n = min(MAX_FILE, rng.randint(16 * KiB, max(32 * KiB, budget // 8)))
            rel = f"{d}/new-{i}.bin" if rng.random() < 0.4 else f"{d}/new-{i}.txt"
        else:
            n, rel = rng.randint(512, 8192), f"{d}/new-small-{i}.txt"
        if not os.path.exists(os.path.join(root, rel)):
            write(root, rel, filler(rel, n))
            added.append(rel)
            done += n
        i += 1
    print(f"gen.py --mutate: {done} bytes changed ({100 * done / max(1, budget / frac):.2f}%): "
          f"{len(changed)} files modified, {len(added)} added", file=sys.stderr)
    sys.stdout.write("".join(p + "\n" for p in sorted(changed | set(added))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--mutate", type=float, metavar="FRACTION",
                    help="change about this fraction of the bytes of an existing dataset")
    a = ap.parse_args()
    started = time.monotonic()
    if a.mutate is not None:
        mutate(a.out_dir, a.seed, a.mutate)
        return
    if os.path.exists(a.out_dir) and os.listdir(a.out_dir):
        sys.exit(f"gen.py: {a.out_dir} is not empty")
    made = generate(a.out_dir, a.seed, a.scale)
    print(f"gen.py: {len(made)} files, {sum(s for _, s in made)} bytes in "
          f"{time.monotonic() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Build negatives.jsonl: hard-negative text with no labels (false positives per 100 KB).

Every record is a chunk (about 1-4 KB, cut at line boundaries) of text written by
someone else and fetched from a package registry, with a `category`:

  prose      licence texts (Debian `base-files`: /usr/share/common-licenses) and the
             Python 3.11 documentation sources (Debian `python3.11-doc`, *.rst.txt)
  code       Python standard library (Debian `libpython3.11-stdlib`) and Rust crates
             from the local cargo registry (_common.PINNED_CRATES, from the workspace's Cargo.lock)
  config     nginx configuration (Debian `nginx-common`), Cargo.toml / CI YAML from the
             cargo registry, garak's YAML configs (PyPI `garak`), X.509 CA certificates
             in PEM (Debian `ca-certificates`: public keys, not secrets)
  table      UnicodeData.txt and friends (Debian `unicode-data`), numpy's random-number
             test vectors (PyPI `numpy` wheel, CSV of 64-bit hex and decimal numbers)
  nonlatin   translated messages (msgstr) from gettext catalogues in Debian packages
             (coreutils, apt, bash, libglib2.0-data, libpam-runtime, libgtk2.0-common) in
             Chinese, Japanese, Korean, Arabic, Hebrew, Russian, Ukrainian, Greek, Hindi, Thai
  emoji      emoji sequences (ZWJ families, flags, keycaps, skin tones) from the PyPI
             `emoji` package's table, strung into lines with and without words

Chunks that contain an e-mail address are dropped (author and bug-report addresses are
real PII, not a hard negative). URLs are kept: eval.py reports findings per type.

Usage: python build_negatives.py [--seed 7]
"""

from __future__ import annotations

import argparse
import gettext
import io
import random
import re
from pathlib import Path

from _common import fixed_hashseed, pinned_crates, HERE, apt_fetch, pip_fetch, read_member, list_members, write_jsonl

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
BUDGET = {  # bytes per category (approximate)
    "prose": 700_000, "code": 550_000, "config": 300_000, "table": 250_000,
    "nonlatin": 350_000, "emoji": 120_000,
}


def chunks(text: str, rng: random.Random, lo=1000, hi=4000):
    lines = text.splitlines(keepends=True)
    cur, size, target = [], 0, rng.randint(lo, hi)
    for ln in lines:
        cur.append(ln)
        size += len(ln)
        if size >= target:
            yield "".join(cur)
            cur, size, target = [], 0, rng.randint(lo, hi)
    if size > 200:
        yield "".join(cur)


def take(docs, budget, rng, cat, src_of):
    """docs: list of (source, text). Shuffle chunks and take up to budget bytes."""
    pool = []
    for src, text in docs:
        for c in chunks(text, rng):
            if EMAIL.search(c) or not c.strip():
                continue
            pool.append((src, c))
    rng.shuffle(pool)
    out, used = [], 0
    for src, c in pool:
        b = len(c.encode())
        if used + b > budget:
            continue
        out.append({"category": cat, "source": src_of(src), "text": c})
        used += b
    return out


def prose(rng):
    root = apt_fetch("base-files") / "usr/share/common-licenses"
    docs = [(f"base-files:/usr/share/common-licenses/{p.name}", p.read_text(errors="replace"))
            for p in sorted(root.iterdir()) if p.is_file()]
    src = apt_fetch("python3.11-doc") / "usr/share/doc/python3.11/html/_sources"
    for sub in ("tutorial", "howto", "faq", "reference", "glossary.rst.txt", "library/functions.rst.txt",
                "library/stdtypes.rst.txt", "library/logging.rst.txt", "library/argparse.rst.txt"):
        p = src / sub
        files = sorted(p.rglob("*.rst.txt")) if p.is_dir() else [p]
        docs += [(f"python3.11-doc:{f.relative_to(src)}", f.read_text(errors="replace")) for f in files]
    lic = [d for d in docs if d[0].startswith("base-files")]
    rest = [d for d in docs if not d[0].startswith("base-files")]
    out = take(lic, 200_000, rng, "prose", lambda s: s)
    out += take(rest, BUDGET["prose"] - 200_000, rng, "prose", lambda s: s)
    return out


def code(rng):
    root = apt_fetch("libpython3.11-stdlib") / "usr/lib/python3.11"
    py = [p for p in sorted(root.rglob("*.py")) if p.is_file() and not p.is_symlink() and "/test" not in str(p) and "idlelib" not in str(p)]
    rng.shuffle(py)
    docs = [(f"libpython3.11-stdlib:{p.relative_to(root)}", p.read_text(errors="replace")) for p in py[:150]]
    out = take(docs, BUDGET["code"] // 2, rng, "code", lambda s: s)
    rs = []
    for crate in pinned_crates():
        rs += [(f"crates.io:{crate.name}/{p.relative_to(crate)}", p.read_text(errors="replace"))
               for p in sorted(crate.rglob("*.rs")) if p.stat().st_size < 200_000]
    if not rs:
        print("warning: no Rust sources in ~/.cargo/registry/src; code category is Python only")
    out += take(rs, BUDGET["code"] // 2, rng, "code", lambda s: s)
    return out


def config(rng):
    docs = []
    ng = apt_fetch("nginx-common") / "etc/nginx"
    docs += [(f"nginx-common:/etc/nginx/{p.relative_to(ng)}", p.read_text(errors="replace"))
             for p in sorted(ng.rglob("*")) if p.is_file()]
    for crate in pinned_crates():
        for p in sorted(crate.glob("Cargo.toml")) + sorted(crate.glob(".github/workflows/*.yml")):
            docs.append((f"crates.io:{crate.name}/{p.relative_to(crate)}", p.read_text(errors="replace")))
    whl = pip_fetch("garak", "0.17.1")
    for n in list_members(whl):
        if n.endswith((".yaml", ".yml")) and "/configs/" in n or n.endswith("garak.core.yaml"):
            docs.append((f"garak-0.17.1:{n}", read_member(whl, n).decode(errors="replace")))
    out = take(docs, BUDGET["config"] - 60_000, rng, "config", lambda s: s)
    ca = apt_fetch("ca-certificates") / "usr/share/ca-certificates/mozilla"
    certs = sorted(ca.glob("*.crt"))
    rng.shuffle(certs)
    out += take([(f"ca-certificates:{p.name}", p.read_text()) for p in certs[:40]], 60_000, rng, "config", lambda s: s)
    return out


def table(rng):
    ud = apt_fetch("unicode-data") / "usr/share/unicode"
    docs = [(f"unicode-data:{n}", (ud / n).read_text(errors="replace"))
            for n in ("UnicodeData.txt", "Blocks.txt", "Scripts.txt", "EastAsianWidth.txt", "CaseFolding.txt")
            if (ud / n).exists()]
    out = take(docs, BUDGET["table"] - 80_000, rng, "table", lambda s: s)
    whl = pip_fetch("numpy", "2.4.6")
    nd = [(f"numpy-2.4.6:{n}", read_member(whl, n).decode()) for n in list_members(whl)
          if n.endswith(".csv") and "random/tests/data" in n]
    out += take(nd, 80_000, rng, "table", lambda s: s)
    return out


MO = {
    "coreutils": "coreutils", "apt": "apt", "bash": "bash", "libglib2.0-data": "glib20",
    "libpam-runtime": "Linux-PAM", "libgtk2.0-common": "gtk20",
}
LANGS = ["zh_CN", "ja", "ko", "ar", "he", "ru", "uk", "el", "hi", "th"]


def nonlatin(rng):
    docs = []
    for pkg, dom in MO.items():
        root = apt_fetch(pkg) / "usr/share/locale"
        for lang in LANGS:
            mo = root / lang / "LC_MESSAGES" / f"{dom}.mo"
            if not mo.exists():
                continue
            t = gettext.GNUTranslations(io.BytesIO(mo.read_bytes()))
            msgs = []
            for k, v in t._catalog.items():
                if isinstance(k, tuple) or not k or not v:
                    continue
                if "@" in v or "http" in v:
                    continue
                msgs.append(v)
            rng.shuffle(msgs)
            docs.append((f"{pkg}:{lang}/{dom}.mo", "\n".join(msgs) + "\n"))
    # balance languages: equal budget each
    out = []
    per = BUDGET["nonlatin"] // len(LANGS)
    for lang in LANGS:
        d = [x for x in docs if f":{lang}/" in x[0]]
        out += [dict(r, lang=lang) for r in take(d, per, rng, "nonlatin", lambda s: s)]
    return out


def emoji_lines(rng):
    import emoji  # PyPI `emoji`
    table = [e for e, d in emoji.EMOJI_DATA.items() if d.get("status") == emoji.STATUS["fully_qualified"]]
    zwj = [e for e in table if "\u200d" in e]
    flags = [e for e in table if all(0x1F1E6 <= ord(c) <= 0x1F1FF for c in e)]
    keycap = [e for e in table if "\u20e3" in e]
    words = ["great", "thanks", "lol", "see you", "on my way", "happy birthday", "ok", "love it", "meeting at 3",
             "done", "same", "wow", "good night", "congrats", "no way", "brb", "yes", "ship it", "nice"]
    out, used = [], 0
    i = 0
    while used < BUDGET["emoji"]:
        lines = []
        for _ in range(rng.randint(5, 25)):
            pool = rng.choice([table, table, zwj, flags, keycap])
            run = "".join(rng.choice(pool) for _ in range(rng.randint(1, 8)))
            style = rng.random()
            if style < 0.4:
                lines.append(run)
            elif style < 0.8:
                lines.append(f"{rng.choice(words)} {run}")
            else:
                lines.append(f"{run} {rng.choice(words)} {rng.choice(table)}")
        t = "\n".join(lines) + "\n"
        out.append({"category": "emoji", "source": f"emoji-{emoji.__version__}:EMOJI_DATA", "text": t})
        used += len(t.encode())
        i += 1
    return out


def main():
    fixed_hashseed()
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=HERE / "negatives.jsonl")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    recs = []
    for fn in (prose, code, config, table, nonlatin, emoji_lines):
        part = fn(rng)
        print(f"{fn.__name__}: {len(part)} chunks, {sum(len(r['text'].encode()) for r in part) / 1e3:.0f} KB")
        recs += part
    for i, r in enumerate(recs):
        r["id"] = f"neg-{r['category']}-{i:05d}"
        r["spans"] = []
    recs = [{"id": r.pop("id"), "text": r.pop("text"), "spans": r.pop("spans"), **r} for r in recs]
    write_jsonl(a.out, recs)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Build secrets_heldout.jsonl: hardcoded credentials labelled by someone else.

Source: the `examples/` directory of Bandit 1.9.4's sdist (PyPI `bandit`, Apache-2.0,
PyCQA). Bandit's own functional tests assert findings on these files; the
`hardcoded-passwords.py` example annotates each expected finding with a comment
`# Possible hardcoded password: 'VALUE'`. We label VALUE (type SECRET) where it occurs
as a string literal in the code lines of that block (not in the comment). Values that
Bandit reports as `None` or `''` are not labelled (nothing to find). Two more literals
that Bandit's tests treat as hardcoded credentials are labelled by hand from the same
files: the `password=` in examples/pyghmi.py and the `key = b'...'` in
examples/ciphers.py. Every other example file is included unlabelled: Python code
with URLs, hashes, crypto calls and shell commands but no credential.

Most labelled values are low-entropy literals ('blerg', 'root', '1234'): a scanner
that only reports provider-format or high-entropy secrets is expected to miss them,
so eval.py reports this file separately from the PII corpora. Each record has
`"entropy": "low"|"high"` per span to split the recall.

Usage: python build_secrets.py
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

from _common import fixed_hashseed, HERE, check_spans, list_members, pip_fetch, read_member, write_jsonl

BANDIT = ("bandit", "1.9.4")
COMMENT = re.compile(r"#\s*Possible hardcoded password: '(.*)'")


def entropy(s: str) -> float:
    c = Counter(s)
    return -sum(n / len(s) * math.log2(n / len(s)) for n in c.values()) if s else 0.0


def span(text, value, start=0):
    for q in ("'", '"'):
        i = text.find(q + value + q, start)
        while i >= 0:
            line_start = text.rfind("\n", 0, i) + 1
            if "#" not in text[line_start:i]:
                return i + 1, i + 1 + len(value)
            i = text.find(q + value + q, i + 1)
    return None


def label(text, value, start=0):
    s = span(text, value, start)
    assert s, value
    return {"start": s[0], "end": s[1], "type": "SECRET",
            "entropy": "high" if entropy(value) >= 3.5 and len(value) >= 16 and " " not in value else "low"}


def main():
    fixed_hashseed()
    sd = pip_fetch(*BANDIT, sdist=True)
    names = sorted(n for n in list_members(sd) if "/examples/" in n and n.endswith(".py"))
    recs = []
    for n in names:
        base = n.split("/examples/", 1)[1]
        text = read_member(sd, n).decode("utf-8", errors="replace")
        spans = []
        if base == "hardcoded-passwords.py":
            # one record per annotated block (blank-line separated)
            blocks = re.split(r"\n\s*\n", text)
            off = 0
            for i, b in enumerate(blocks):
                start = text.index(b, off)
                off = start + len(b)
                bs = []
                for m in COMMENT.finditer(b):
                    if m.group(1):
                        bs.append(label(b, m.group(1), m.end()))
                recs.append({"id": f"bandit-hcp-{i:02d}", "text": b, "spans": bs,
                             "source": f"bandit-1.9.4:examples/{base} (block {i})"})
            continue
        elif base == "pyghmi.py":
            spans.append(label(text, "ZjE4ZjI0NTE4YmI2NGJjZDliOGY3ZmJiY2UyN2IzODQK"))
        elif base == "ciphers.py":
            spans.append(label(text, "Super secret key"))
        recs.append({"id": f"bandit-{base}", "text": text, "spans": spans, "source": f"bandit-1.9.4:examples/{base}"})
    check_spans(recs)
    write_jsonl(HERE / "secrets_heldout.jsonl", recs)
    lab = [s for r in recs for s in r["spans"]]
    print(f"labelled secrets: {len(lab)} ({sum(s['entropy'] == 'high' for s in lab)} high-entropy); "
          f"records without secrets: {sum(1 for r in recs if not r['spans'])}")


if __name__ == "__main__":
    main()

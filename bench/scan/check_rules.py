#!/usr/bin/env python3
"""Check crates/scan/rules/secrets.toml against the labelled dev set and a code corpus.

Emulates the scan engine's documented semantics with Python's `re` (ASCII mode):

* every rule needs keywords; a non-multiline rule's regex runs only on lines that contain
  one of its keywords (ASCII case-insensitive); every non-overlapping match is considered;
* a multiline rule's regex runs over the whole text when a keyword occurs in it, and a match
  is kept only when a keyword occurs in the lines the match spans;
* the candidate secret is group `s` when it took part in the match, else the whole match;
  it is dropped below the rule's `entropy` (Shannon, bits per char), when it contains a
  global `allowlist.contains` substring (ASCII case-insensitive), or when a global
  `allowlist.regexes` or a rule `allow` regex finds a match in it.

It also rejects regex constructs the Rust engine lacks (look-around, backreferences, atomic
groups, possessive quantifiers, named groups other than `s`, Rust class set operators used
by accident) and Python-only syntax.

Usage: python3 bench/scan/check_rules.py [--rules PATH] [--dev PATH] [--no-corpus]
       [--max-files N] [--show-missed] [--show-fp] [--corpus-examples N] [--extra DIR ...]
Exit status is 1 when a rule is invalid.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import json
import math
import os
import re
import sys
import subprocess
import sysconfig
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_RULES = REPO / "crates/scan/rules/secrets.toml"
DEFAULT_DEV = Path("/work/shared/data/secrets-dev.jsonl")
CARGO_SRC = Path("/root/.cargo/registry/src")

ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
KNOWN_VALIDATORS = {"github-crc32", "jwt"}
KNOWN_RULE_KEYS = {"id", "description", "keywords", "regex", "entropy", "validate", "allow", "multiline"}
# Escapes that are safe in both Rust regex-syntax and Python re.
SAFE_ESCAPES = set("dDwWsSbBnrtfvAx") | set("\\.+*?()|[]{}^$#&-~/%!\"=:,@ ")
MAX_REPEAT = 1000
EXTRA_SUFFIXES = {
    ".rs", ".py", ".js", ".mjs", ".cjs", ".ts", ".go", ".java", ".rb", ".php", ".c", ".h", ".toml",
    ".md", ".txt", ".yml", ".yaml", ".json", ".xml", ".ini", ".cfg", ".conf", ".properties", ".sh", ".env",
}


def py_pattern(rx: str) -> str:
    """Rust's `$` (no m flag) matches only at the very end of the haystack; Python's also matches
    before a final newline. Translate unescaped `$` outside classes to Python's `\\Z`."""
    out, i, in_class = [], 0, False
    while i < len(rx):
        c = rx[i]
        if c == "\\":
            out.append(rx[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "]" and not (out and out[-1] in ("[", "[^")):
                in_class = False
        elif c == "[":
            in_class = True
            if rx.startswith("[^", i):
                out.append("[^")
                i += 2
                continue
        elif c == "$":
            c = "\\Z"
        out.append(c)
        i += 1
    return "".join(out)


def lower(s: str) -> str:
    return s.translate(ASCII_LOWER)


def entropy(s: str) -> float:
    if not s:
        return 0.0
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in collections.Counter(s).values())


# --------------------------------------------------------------------------------------------
# Regex dialect check
# --------------------------------------------------------------------------------------------


def rust_compat_problems(rx: str) -> list[str]:
    """Scan a pattern for constructs that Rust's regex-automata does not accept."""
    probs: list[str] = []
    i, n = 0, len(rx)
    in_class = False
    class_start = -1
    prev_quant = False  # previous token was a quantifier (for possessive detection)
    while i < n:
        c = rx[i]
        if c == "\\":
            if i + 1 >= n:
                probs.append("trailing backslash")
                break
            e = rx[i + 1]
            if e.isdigit():
                probs.append(f"backreference or octal escape \\{e} at {i}")
            elif e == "x":
                if not re.match(r"[0-9A-Fa-f]{2}", rx[i + 2 : i + 4]):
                    probs.append(f"bad \\x escape at {i}")
            elif e in "pPkgzZ":
                probs.append(f"escape \\{e} at {i} (Unicode classes/named refs/\\Z differ or are unsupported)")
            elif e not in SAFE_ESCAPES:
                probs.append(f"escape \\{e} at {i} may be rejected by Rust")
            i += 2
            prev_quant = False
            continue
        if in_class:
            if c == "[" and i != class_start:
                probs.append(f"unescaped '[' inside class at {i} (nested class in Rust)")
            if c == "]" and i != class_start:
                in_class = False
            elif rx[i : i + 2] in ("&&", "--", "~~"):
                probs.append(f"class set operator {rx[i:i+2]!r} at {i}")
            i += 1
            continue
        if c == "[":
            in_class = True
            j = i + 1
            if j < n and rx[j] == "^":
                j += 1
            class_start = j  # a ']' right here is literal
            i += 1
            prev_quant = False
            continue
        if c == "(":
            if rx.startswith("(?=", i) or rx.startswith("(?!", i):
                probs.append(f"look-ahead at {i}")
            elif rx.startswith("(?<=", i) or rx.startswith("(?<!", i):
                probs.append(f"look-behind at {i}")
            elif rx.startswith("(?>", i):
                probs.append(f"atomic group at {i}")
            elif rx.startswith("(?P=", i):
                probs.append(f"named backreference at {i}")
            elif rx.startswith("(?P<", i) or rx.startswith("(?<", i):
                m = re.match(r"\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>", rx[i:])
                if m and m.group(1) != "s":
                    probs.append(f"named group {m.group(1)!r} (only 's' is allowed)")
            elif rx.startswith("(?(", i):
                probs.append(f"conditional group at {i}")
            i += 1
            prev_quant = False
            continue
        if c in "*+?":
            # '??', '*?', '+?', '}?' are lazy (fine); '*+', '++', '?+', '}+' are possessive
            if c == "+" and prev_quant:
                probs.append(f"possessive quantifier at {i}")
            prev_quant = not (c == "?" and prev_quant)
            i += 1
            continue
        if c == "{":
            m = re.match(r"\{(\d*)(,?)(\d*)\}", rx[i:])
            if m:
                for g in (m.group(1), m.group(3)):
                    if g and int(g) > MAX_REPEAT:
                        probs.append(f"repetition bound {g} > {MAX_REPEAT}")
                i += len(m.group(0))
                prev_quant = True
                continue
        prev_quant = False
        i += 1
    if in_class:
        probs.append("unterminated class")
    # Python only accepts global flags at the very start; Rust accepts them anywhere. Keep to
    # the common subset: only a leading (?flags) or scoped (?flags:...) groups.
    for m in re.finditer(r"\(\?[a-zA-Z-]+\)", rx):
        if m.start() != 0:
            probs.append(f"inline flag group {m.group(0)} not at start (use a scoped (?i:...))")
    return probs


# --------------------------------------------------------------------------------------------
# Rules and engine emulation
# --------------------------------------------------------------------------------------------


@dataclass
class Rule:
    id: str
    description: str
    keywords: list[str]
    regex: re.Pattern
    source: str
    entropy: float | None
    validate: str | None
    allow: list[re.Pattern]
    multiline: bool


@dataclass
class Finding:
    rule: str
    start: int  # character offsets of the secret
    end: int
    secret: str


@dataclass
class RuleSet:
    rules: list[Rule]
    allow_contains: list[str]
    allow_regexes: list[re.Pattern]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def load_rules(path: Path) -> RuleSet:
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    errors: list[str] = []
    warnings: list[str] = []
    al = doc.get("allowlist", {})
    allow_contains = [lower(s) for s in al.get("contains", [])]
    allow_regexes = []
    for s in al.get("regexes", []):
        for p in rust_compat_problems(s):
            errors.append(f"allowlist regex {s!r}: {p}")
        try:
            allow_regexes.append(re.compile(py_pattern(s), re.ASCII))
        except re.error as e:
            errors.append(f"allowlist regex {s!r}: {e}")
    rules: list[Rule] = []
    seen: set[str] = set()
    for raw in doc.get("rule", []):
        rid = raw.get("id", "<missing id>")
        unknown = set(raw) - KNOWN_RULE_KEYS
        if unknown:
            errors.append(f"{rid}: unknown keys {sorted(unknown)}")
        if not ID_RE.match(rid):
            errors.append(f"{rid}: id is not lowercase-kebab")
        if rid in seen:
            errors.append(f"{rid}: duplicate id")
        seen.add(rid)
        kws = raw.get("keywords") or []
        if not kws:
            errors.append(f"{rid}: no keywords")
        for k in kws:
            if not k or not k.isascii():
                errors.append(f"{rid}: keyword {k!r} is empty or not ASCII")
            elif len(k) < 3:
                warnings.append(f"{rid}: short keyword {k!r}")
        src = raw.get("regex", "")
        probs = rust_compat_problems(src)
        for p in probs:
            errors.append(f"{rid}: {p}")
        try:
            rx = re.compile(py_pattern(src), re.ASCII)
        except re.error as e:
            errors.append(f"{rid}: Python rejects regex: {e}")
            continue
        if rx.groupindex and set(rx.groupindex) != {"s"}:
            errors.append(f"{rid}: named groups {sorted(rx.groupindex)}")
        val = raw.get("validate")
        if val is not None and val not in KNOWN_VALIDATORS:
            errors.append(f"{rid}: unknown validator {val!r}")
        allow = []
        for a in raw.get("allow", []):
            for p in rust_compat_problems(a):
                errors.append(f"{rid}: allow {a!r}: {p}")
            try:
                allow.append(re.compile(py_pattern(a), re.ASCII))
            except re.error as e:
                errors.append(f"{rid}: allow {a!r}: {e}")
        if not raw.get("description"):
            warnings.append(f"{rid}: no description")
        rules.append(
            Rule(
                id=rid,
                description=raw.get("description", ""),
                keywords=[lower(k) for k in kws],
                regex=rx,
                source=src,
                entropy=raw.get("entropy"),
                validate=val,
                allow=allow,
                multiline=bool(raw.get("multiline", False)),
            )
        )
    return RuleSet(rules, allow_contains, allow_regexes, errors, warnings)


MAX_SEGMENT = 4096
MAX_KEY_BLOCK = 16 * 1024


def segments(text: str) -> list[tuple[int, int]]:
    """Lines (newline included); a line holding -----BEGIN and PRIVATE KEY starts a block that
    runs to the end of the line holding -----END (at most MAX_KEY_BLOCK). Over-long lines are cut
    every MAX_SEGMENT characters (crates/scan cuts at a content-chosen place; close enough)."""
    out = []
    pos, n = 0, len(text)
    while pos < n:
        nl = text.find("\n", pos)
        end = n if nl == -1 else nl + 1
        line = text[pos:end]
        if "-----BEGIN" in line and "PRIVATE KEY" in line:
            limit = min(n, pos + MAX_KEY_BLOCK)
            em = text.find("-----END", pos, limit)
            if em != -1:
                nl2 = text.find("\n", em, limit)
                end = limit if nl2 == -1 else nl2 + 1
            else:
                lastnl = text.rfind("\n", pos, limit)
                end = limit if lastnl == -1 else lastnl + 1
        elif end - pos > MAX_SEGMENT:
            end = pos + MAX_SEGMENT
        out.append((pos, end))
        pos = end
    return out


_SPACE = set(" \t\n\r\x0b\x0c")
_SYMBOL = set("_-+/=\"'$%&#!*~^|\\[]{}()<>,;?`")
_EDGE = set("\"'()[]{}<>,.;:!?`*")
_STRONG = set("_=+/:@$%|")


def dense_tokens(seg: str) -> list[tuple[int, int]]:
    """Port of crates/scan/src/lexer.rs: whitespace tokens that may hold a secret."""
    out = []
    n, i = len(seg), 0
    assign_pending = False
    while i < n:
        while i < n and seg[i] in _SPACE:
            i += 1
        if i >= n:
            break
        start = i
        while i < n and seg[i] not in _SPACE:
            i += 1
        tok = seg[start:i]
        first, inner = tok[0], tok[1:]
        inner_plain = all(c.isascii() and c.islower() or not c.isascii() for c in inner)
        first_plain = first.isascii() and first.isalpha() or not first.isascii()
        if inner_plain and first_plain:
            assign_pending = False
            continue
        core = tok
        while core and core[0] in _EDGE:
            core = core[1:]
        while core and core[-1] in _EDGE:
            core = core[:-1]
        assign = core in ("=", ":", "=>", ":=", "->") or tok[-1] in "=:"
        ln = len(core)
        has_digit = any(c.isdigit() and c.isascii() for c in core)
        has_letter = any(c.isascii() and c.isalpha() for c in core)
        strong = any(c in _STRONG or c == "@" for c in core)
        inner_upper = any(c.isascii() and c.isupper() for c in inner)
        sym_or_colon = any(c in _SYMBOL or c == ":" for c in core)
        dense = (
            (ln >= 8 and has_digit and has_letter)
            or (ln >= 10 and strong)
            or (ln >= 16 and inner_upper)
            or (assign_pending and ln >= 6)
            or core.startswith("-----")
            or (assign and ln >= 8 and sym_or_colon and ln > 10)
        )
        if dense:
            out.append((start, i))
        assign_pending = assign
    return out


def regions(seg: str, spans: list[tuple[int, int]], before: int, after: int) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for s, e in spans:
        start = max(0, s - before)
        while start > 0 and seg[start - 1] not in _SPACE:
            start -= 1
        end = min(len(seg), e + after)
        while end < len(seg) and seg[end] not in _SPACE:
            end += 1
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


class Scanner:
    """mode "lines": the documented semantics (per line; multiline rules see the whole text).
    mode "segments": closer to crates/scan as built: the text is cut into segments (lines, a
    PEM private-key block kept whole), rules run in windows around "dense" tokens (160 chars
    before, 16 after, widened to whitespace), a multiline rule sees its whole segment only."""

    def __init__(self, rs: RuleSet, mode: str = "lines"):
        self.rs = rs
        self.mode = mode
        self.keywords = sorted({k for r in rs.rules for k in r.keywords})

    def allowed(self, rule: Rule, secret: str) -> bool:
        ls = lower(secret)
        if any(a in ls for a in self.rs.allow_contains):
            return True
        if any(a.search(secret) for a in self.rs.allow_regexes):
            return True
        return any(a.search(secret) for a in rule.allow)

    def scan(self, text: str, rules: list[Rule] | None = None) -> list[Finding]:
        if self.mode == "segments":
            return self.scan_segments(text, rules)
        return self.scan_lines(text, rules)

    def scan_segments(self, text: str, rules: list[Rule] | None = None) -> list[Finding]:
        rules = self.rs.rules if rules is None else rules
        seen: set[tuple[str, int, int]] = set()
        out: list[Finding] = []
        for a, b in segments(text):
            seg = text[a:b]
            low = lower(seg)
            for lo, hi in regions(seg, dense_tokens(seg), 160, 16):
                win = low[lo:hi]
                for rule in rules:
                    if not any(k in win for k in rule.keywords):
                        continue
                    ra, rb = (0, len(seg)) if rule.multiline else (lo, hi)
                    found: list[Finding] = []
                    for m in rule.regex.finditer(seg, ra, rb):
                        if m.end() > m.start():
                            self._emit(rule, m, a, found)
                    for f in found:
                        key = (f.rule, f.start, f.end)
                        if key not in seen:
                            seen.add(key)
                            out.append(f)
        return out

    def scan_lines(self, text: str, rules: list[Rule] | None = None) -> list[Finding]:
        rules = self.rs.rules if rules is None else rules
        low = lower(text)
        # line starts
        starts = [0]
        pos = text.find("\n")
        while pos != -1:
            starts.append(pos + 1)
            pos = text.find("\n", pos + 1)
        nlines = len(starts)

        def line_of(p: int) -> int:
            return bisect.bisect_right(starts, p) - 1

        def line_end(li: int) -> int:
            return starts[li + 1] - 1 if li + 1 < nlines else len(text)

        kw_lines: dict[str, list[int]] = {}
        kw_pos: dict[str, list[int]] = {}

        def positions(k: str) -> list[int]:
            if k not in kw_pos:
                ps = []
                p = low.find(k)
                while p != -1:
                    ps.append(p)
                    p = low.find(k, p + 1)
                kw_pos[k] = ps
            return kw_pos[k]

        def lines_with(k: str) -> list[int]:
            if k not in kw_lines:
                ls = sorted({line_of(p) for p in positions(k)})
                kw_lines[k] = ls
            return kw_lines[k]

        out: list[Finding] = []
        for rule in rules:
            if rule.multiline:
                if not any(positions(k) for k in rule.keywords):
                    continue
                for m in rule.regex.finditer(text):
                    if m.end() == m.start():
                        continue
                    a, b = line_of(m.start()), line_of(max(m.start(), m.end() - 1))
                    lo, hi = starts[a], line_end(b)
                    if not any(
                        any(lo <= p and p + len(k) <= hi for p in positions(k)) for k in rule.keywords
                    ):
                        continue
                    self._emit(rule, m, 0, out)
                continue
            lines: set[int] = set()
            for k in rule.keywords:
                lines.update(lines_with(k))
            for li in sorted(lines):
                lo, hi = starts[li], line_end(li)
                line = text[lo:hi]
                for m in rule.regex.finditer(line):
                    if m.end() == m.start():
                        continue
                    self._emit(rule, m, lo, out)
        return out

    def _emit(self, rule: Rule, m: re.Match, base: int, out: list[Finding]) -> None:
        if "s" in rule.regex.groupindex and m.start("s") != -1:
            a, b = m.span("s")
        else:
            a, b = m.span()
        secret = m.string[a:b]
        if not secret:
            return
        if rule.entropy is not None and entropy(secret) < rule.entropy:
            return
        if self.allowed(rule, secret):
            return
        out.append(Finding(rule.id, base + a, base + b, secret))


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def overlaps(f: Finding, s: dict) -> bool:
    return f.start < s["end"] and s["start"] < f.end


def short(s: str, n: int = 70) -> str:
    s = s.replace("\n", "\\n")
    return s if len(s) <= n else s[: n - 3] + "..."


def eval_dev(sc: Scanner, dev_path: Path, show_missed: bool, show_fp: bool, quiet: bool = False) -> dict:
    rows = [json.loads(l) for l in open(dev_path, encoding="utf-8")]
    tp_total = tp_found = tp_same_rule = 0
    missed_by_rule: dict[str, list[str]] = collections.defaultdict(list)
    fp_total = 0
    fp_fired_cases = 0
    fp_by_rule: dict[str, list[str]] = collections.defaultdict(list)
    fp_same_rule = 0
    hits_by_rule: collections.Counter = collections.Counter()
    for r in rows:
        fs = sc.scan(r["text"])
        if r["case"] == "tp":
            tp_total += 1
            good = [f for f in fs if any(overlaps(f, s) for s in r["spans"])]
            for f in {f.rule for f in good}:
                hits_by_rule[f] += 1
            if good:
                tp_found += 1
                if any(f.rule == r["rule"] for f in good):
                    tp_same_rule += 1
            else:
                missed_by_rule[r["rule"]].append(short(r["text"], 160))
        else:
            fp_total += 1
            if fs:
                fp_fired_cases += 1
                if any(f.rule == r["rule"] for f in fs):
                    fp_same_rule += 1
                for f in fs:
                    fp_by_rule[f.rule].append(f"[case rule {r['rule']}] {short(f.secret, 90)}")
    if not quiet:
        print("=" * 78)
        print(f"DEV SET {dev_path}")
        print(f"  tp cases: {tp_total}, found: {tp_found}, recall: {tp_found / tp_total:.4f}")
        print(f"  tp cases found by a rule with the same id: {tp_same_rule} ({tp_same_rule / tp_total:.4f})")
        nmiss = tp_total - tp_found
        print(f"  tp cases missed: {nmiss}")
        for rid in sorted(missed_by_rule, key=lambda k: (-len(missed_by_rule[k]), k)):
            print(f"    {rid}: {len(missed_by_rule[rid])}")
            if show_missed:
                for t in missed_by_rule[rid]:
                    print(f"        {t}")
        print(f"  fp cases: {fp_total}, cases with any finding: {fp_fired_cases}"
              f" ({fp_fired_cases / max(fp_total, 1):.3f}); fired by the rule the case is a negative for: {fp_same_rule}")
        for rid in sorted(fp_by_rule, key=lambda k: (-len(fp_by_rule[k]), k)):
            print(f"    {rid}: {len(fp_by_rule[rid])} finding(s)")
            if show_fp:
                for t in fp_by_rule[rid]:
                    print(f"        {t}")
    return {
        "tp_total": tp_total,
        "tp_found": tp_found,
        "recall": tp_found / tp_total,
        "fp_total": fp_total,
        "fp_fired": fp_fired_cases,
        "fp_same_rule": fp_same_rule,
        "hits_by_rule": hits_by_rule,
        "missed_by_rule": missed_by_rule,
    }


def covault_scan(binary: Path, rules: Path, paths: list[Path]) -> dict[str, list[dict]]:
    """Runs the real engine (`covault scan`) with these rules; findings (byte offsets) by path."""
    cmd = [str(binary), "scan", "--rules", str(rules), "--only", "SECRET", "--format", "jsonl",
           "--min-score", "0", "--no-pii", "--no-names", "--no-injection", "--jobs", "1", "--no-progress",
           *map(str, paths)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        raise SystemExit(f"covault scan failed ({p.returncode}): {p.stderr.strip()[:2000]}")
    out: dict[str, list[dict]] = collections.defaultdict(list)
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            f = json.loads(line)
            if "path" in f and "start" in f:
                out[f["path"]].append(f)
    return out


def eval_dev_covault(binary: Path, rules: Path, dev_path: Path) -> dict:
    """The dev set through the real engine: one file per case; char spans mapped to bytes."""
    rows = [json.loads(l) for l in open(dev_path, encoding="utf-8")]
    with tempfile.TemporaryDirectory(prefix="check_rules_") as d:
        paths = []
        for i, r in enumerate(rows):
            p = Path(d) / f"{i:05d}.txt"
            p.write_bytes(r["text"].encode("utf-8"))
            paths.append(p)
        found = covault_scan(binary, rules, paths)
        res = {"tp_total": 0, "tp_found": 0, "fp_total": 0, "fp_fired": 0,
               "missed": collections.Counter(), "detectors": collections.Counter()}
        for i, r in enumerate(rows):
            fs = found.get(str(paths[i]), [])
            t = r["text"]
            if r["case"] == "tp":
                res["tp_total"] += 1
                bspans = [(len(t[: s["start"]].encode()), len(t[: s["end"]].encode())) for s in r["spans"]]
                hit = [f for f in fs if any(f["start"] < b and a < f["end"] for a, b in bspans)]
                if hit:
                    res["tp_found"] += 1
                    res["detectors"].update(f["detector"] == r["rule"] for f in hit[:1])
                else:
                    res["missed"][r["rule"]] += 1
            else:
                res["fp_total"] += 1
                res["fp_fired"] += bool(fs)
    return res


def eval_jsonl(sc: Scanner, path: Path, examples: int) -> dict:
    """A labelled corpus in the bench/scan/corpora format: {"text", "spans": [{start, end, type}]}.
    Gold = spans of type SECRET; a finding outside every gold span counts as a false positive."""
    rows = [json.loads(l) for l in open(path, encoding="utf-8")]
    gold = found = fps = 0
    fp_by_rule: dict[str, list[str]] = collections.defaultdict(list)
    missed: list[str] = []
    nchars = 0
    for r in rows:
        text = r.get("text", "")
        nchars += len(text)
        spans = [s for s in r.get("spans", []) if s.get("type") == "SECRET"]
        fs = sc.scan(text)
        for s in spans:
            gold += 1
            if any(overlaps(f, s) for f in fs):
                found += 1
            else:
                missed.append(f"{r.get('id', '?')}: {short(text[max(0, s['start'] - 40):s['end'] + 10], 100)}")
        for f in fs:
            if not any(overlaps(f, s) for s in spans):
                fps += 1
                fp_by_rule[f.rule].append(f"{r.get('id', '?')}: {short(f.secret, 80)}")
    print("=" * 78)
    print(f"LABELLED CORPUS {path}: {len(rows)} records, {nchars / 1e3:.0f} K chars")
    if gold:
        print(f"  SECRET spans: {gold}, found: {found} ({found / gold:.3f})")
        for m in missed[:examples]:
            print(f"    missed {m}")
    print(f"  findings outside SECRET spans: {fps}")
    for rid in sorted(fp_by_rule, key=lambda k: (-len(fp_by_rule[k]), k)):
        print(f"    {rid}: {len(fp_by_rule[rid])}")
        for e in fp_by_rule[rid][:examples]:
            print(f"        {e}")
    return {"gold": gold, "found": found, "fps": fps}


def corpus_files(max_files: int, extra: list[str]) -> list[tuple[str, Path]]:
    files: list[tuple[str, Path]] = []
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    py = sorted(p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts)
    files += [("stdlib-py", p) for p in py]
    rs = sorted(CARGO_SRC.rglob("*.rs")) if CARGO_SRC.exists() else []
    files += [("cargo-rs", p) for p in rs[:max_files]]
    for d in extra:
        for p in sorted(Path(d).rglob("*")):
            if {"target", ".git"} & set(p.parts):
                continue
            if p.is_file() and p.suffix in EXTRA_SUFFIXES:
                files.append((f"extra:{d}", p))
    return files


def eval_corpus(sc: Scanner, max_files: int, extra: list[str], examples: int) -> dict:
    files = corpus_files(max_files, extra)
    t0 = time.time()
    by_rule: dict[str, list[str]] = collections.defaultdict(list)
    nbytes = 0
    counts = collections.Counter(k for k, _ in files)
    for kind, p in files:
        try:
            text = p.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        nbytes += len(text)
        for f in sc.scan(text):
            ln = text.count("\n", 0, f.start) + 1
            by_rule[f.rule].append(f"{p}:{ln}: {short(f.secret, 80)}")
    dt = time.time() - t0
    total = sum(len(v) for v in by_rule.values())
    print("=" * 78)
    print(f"CODE CORPUS (negatives): {dict(counts)} files, {nbytes / 1e6:.1f} M chars, {dt:.1f} s")
    print(f"  findings: {total}")
    for rid in sorted(by_rule, key=lambda k: (-len(by_rule[k]), k)):
        print(f"    {rid}: {len(by_rule[rid])}")
        for e in by_rule[rid][:examples]:
            print(f"        {e}")
    return {"findings": total, "by_rule": {k: len(v) for k, v in by_rule.items()}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    ap.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    ap.add_argument("--no-corpus", action="store_true")
    ap.add_argument("--max-files", type=int, default=3000, help="cap on cargo-registry .rs files")
    ap.add_argument("--extra", action="append", default=[], help="extra directory of negatives")
    ap.add_argument("--show-missed", action="store_true")
    ap.add_argument("--show-fp", action="store_true")
    ap.add_argument("--corpus-examples", type=int, default=5)
    ap.add_argument("--engine", choices=["lines", "segments"], default="lines",
                    help="lines: the documented rule semantics (default); segments: emulate crates/scan's "
                    "segments and dense-token windows (no rule sees across a line, except PEM blocks)")
    ap.add_argument("--covault", type=Path, default=None,
                    help="also run the dev set through this covault binary (`covault scan --rules`)")
    ap.add_argument("--jsonl", action="append", default=[], type=Path,
                    help="extra labelled corpus (bench/scan/corpora format; gold = type SECRET)")
    args = ap.parse_args()

    rs = load_rules(args.rules)
    print(f"RULES {args.rules}: {len(rs.rules)} rules "
          f"({sum(r.multiline for r in rs.rules)} multiline), "
          f"{len(rs.allow_contains)} allowlist substrings, {len(rs.allow_regexes)} allowlist regexes")
    for e in rs.errors:
        print(f"  ERROR {e}")
    for w in rs.warnings:
        print(f"  warning {w}")
    sc = Scanner(rs, args.engine)
    print(f"ENGINE MODE: {args.engine}")
    dev = eval_dev(sc, args.dev, args.show_missed, args.show_fp) if args.dev.exists() else None
    other = None
    if dev:
        other_mode = "segments" if args.engine == "lines" else "lines"
        other = eval_dev(Scanner(rs, other_mode), args.dev, False, False, quiet=True)
        other["mode"] = other_mode
    if dev:
        zero = sorted(r.id for r in rs.rules if dev["hits_by_rule"][r.id] == 0)
        print(f"  rules with zero dev tp hits: {len(zero)}")
        print("    " + ", ".join(zero))
    real = None
    if args.covault and dev and not rs.errors:
        real = eval_dev_covault(args.covault, args.rules, args.dev)
    labelled = [eval_jsonl(sc, p, args.corpus_examples) for p in args.jsonl]
    corp = None if args.no_corpus else eval_corpus(sc, args.max_files, args.extra, args.corpus_examples)
    print("=" * 78)
    print("SUMMARY")
    print(f"  rules: {len(rs.rules)}, invalid: {len(rs.errors)} error(s)")
    if dev:
        print(f"  dev recall (tp): {dev['tp_found']}/{dev['tp_total']} = {dev['recall']:.4f}")
        print(f"  dev fp cases with a finding: {dev['fp_fired']}/{dev['fp_total']}"
              f" (by the rule the case targets: {dev['fp_same_rule']})")
    if other:
        print(f"  dev recall in '{other['mode']}' mode: {other['tp_found']}/{other['tp_total']} = {other['recall']:.4f};"
              f" fp cases with a finding: {other['fp_fired']}/{other['fp_total']}")
        diff = {k: len(v) for k, v in other["missed_by_rule"].items()}
        if diff:
            print("    missed there, by case rule: " + ", ".join(f"{k} {v}" for k, v in sorted(diff.items())))
    if real:
        print(f"  dev through {args.covault}: recall {real['tp_found']}/{real['tp_total']}"
              f" = {real['tp_found'] / real['tp_total']:.4f}; fp cases with a finding:"
              f" {real['fp_fired']}/{real['fp_total']}; first overlapping finding from the case's rule id:"
              f" {real['detectors'][True]}/{real['tp_found']}")
        if real["missed"]:
            print("    missed there, by case rule: " + ", ".join(f"{k} {v}" for k, v in sorted(real["missed"].items())))
    for p, l in zip(args.jsonl, labelled):
        g = f"SECRET recall {l['found']}/{l['gold']}, " if l["gold"] else ""
        print(f"  {p.name}: {g}findings outside SECRET spans {l['fps']}")
    if corp:
        print(f"  code-corpus findings: {corp['findings']}")
    return 1 if rs.errors else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Score `covault scan` on the labelled corpora in bench/scan/corpora/.

For each corpus every record is written to its own file in a temporary directory and
ONE `covault scan --format jsonl DIR` runs over the directory. Findings carry byte
offsets; they are mapped back to character offsets of the record's text.

Scoring (PII, secrets): span-overlap matching per type. A predicted span is correct if
it overlaps a gold span of the same type (precision = correct predictions / predictions);
a gold span is found if a prediction of the same type overlaps it (recall = found gold /
gold). "micro" pools every type; "type-agnostic" ignores types (any prediction
overlapping any gold span). Gold types in IGNORED (TITLE, ZIP_CODE) are neither credited
nor penalised: a prediction that overlaps one and matches nothing else is dropped.
PROMPT_INJECTION findings are excluded from span scoring.

Negatives: findings per 100 KB (UTF-8 bytes), per category and per type.
Injection: a record is predicted positive if any PROMPT_INJECTION finding; P/R/F1/FPR,
with recall per positive kind and false-positive rate per negative kind.

Usage:
  python3 bench/scan/eval.py [--bin PATH] [--corpus pii,negatives,...] [--limit N]
                             [--min-score F] [--presidio] [--findings FILE]
`--presidio` runs Presidio (presidio_engine.py) on the PII corpora and prints its table
beside covault's; it needs the bench venv (bench/scan.sh creates it), e.g.
  target/bench-venv/bin/python bench/scan/eval.py --presidio
`--findings FILE` scores a saved `covault scan --format jsonl` output instead of running
the binary (paths in it must end in <record-index>.txt, as eval.py writes them).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPORA = HERE / "corpora"
IGNORED = {"TITLE", "ZIP_CODE"}
PII_CORPORA = ["pii", "pii_intl"]
ALL = ["pii", "pii_intl", "secrets_heldout", "negatives", "injection"]


# --------------------------------------------------------------------------- data
def load(name: str, limit: int | None):
    path = CORPORA / f"{name}.jsonl"
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as f:
        recs = [json.loads(line) for line in f if line.strip()]
    if limit and limit < len(recs):
        # evenly spaced, so every category / label / kind is represented
        recs = [recs[i * len(recs) // limit] for i in range(limit)]
    return recs


def byte_to_char(text: str, data: bytes, b: int) -> int:
    b = max(0, min(b, len(data)))
    return len(data[:b].decode("utf-8", errors="ignore"))


def run_covault(binary: str, recs, min_score, extra_args):
    """Write records to files, scan the directory once, return (findings per record, seconds)."""
    tmp = Path(tempfile.mkdtemp(prefix="covault-eval-"))
    try:
        width = len(str(len(recs)))
        for i, r in enumerate(recs):
            (tmp / f"{i:0{width}d}.txt").write_bytes(r["text"].encode("utf-8"))
        cmd = [binary, "scan", "--format", "jsonl"]
        if min_score is not None:
            cmd += ["--min-score", str(min_score)]
        cmd += extra_args + [str(tmp)]
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True)
        dt = time.perf_counter() - t0
        if p.returncode not in (0, 1):
            sys.exit(f"covault scan failed (exit {p.returncode}): {' '.join(cmd)}\n{p.stderr.decode(errors='replace')[-2000:]}")
        return parse_findings(p.stdout.decode("utf-8", errors="replace"), recs), dt
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def parse_findings(jsonl: str, recs):
    out = defaultdict(list)
    datas = {}
    for line in jsonl.splitlines():
        line = line.strip()
        if not line:
            continue
        f = json.loads(line)
        m = re.search(r"(\d+)\.txt$", f["path"])
        if not m:
            continue
        i = int(m.group(1))
        if i >= len(recs):
            continue
        text = recs[i]["text"]
        data = datas.setdefault(i, text.encode("utf-8"))
        s, e = byte_to_char(text, data, f["start"]), byte_to_char(text, data, f["end"])
        out[i].append({"start": s, "end": e, "type": f["type"], "score": f.get("score"),
                       "detector": f.get("detector")})
    return out


def run_presidio(recs, threshold=0.0):
    sys.path.insert(0, str(HERE))
    from presidio_engine import make_analyzer

    an = make_analyzer()
    out = {}
    t0 = time.perf_counter()
    for i, r in enumerate(recs):
        res = an.analyze(text=r["text"], language="en", score_threshold=threshold)
        out[i] = [{"start": x.start, "end": x.end, "type": x.entity_type, "score": x.score} for x in res]
    return out, time.perf_counter() - t0


# --------------------------------------------------------------------------- scoring
def overlaps(a, b):
    return a["start"] < b["end"] and b["start"] < a["end"]


def score_spans(recs, preds, exclude_pred_types=("PROMPT_INJECTION",)):
    """Return {type: [n_gold, n_gold_found, n_pred, n_pred_correct]} plus 'micro' and 'type-agnostic'."""
    st = defaultdict(lambda: [0, 0, 0, 0])
    agn = [0, 0, 0, 0]
    for i, r in enumerate(recs):
        gold = [g for g in r.get("spans", []) if g["type"] not in IGNORED]
        ign = [g for g in r.get("spans", []) if g["type"] in IGNORED]
        pred = [p for p in preds.get(i, []) if p["type"] not in exclude_pred_types]
        kept = []
        for p in pred:
            same = any(overlaps(p, g) and g["type"] == p["type"] for g in gold)
            anyg = any(overlaps(p, g) for g in gold)
            if not same and not anyg and any(overlaps(p, g) for g in ign):
                continue
            kept.append(p)
            st[p["type"]][2] += 1
            st[p["type"]][3] += same
            agn[2] += 1
            agn[3] += anyg
        for g in gold:
            st[g["type"]][0] += 1
            st[g["type"]][1] += any(overlaps(p, g) and p["type"] == g["type"] for p in kept)
            agn[0] += 1
            agn[1] += any(overlaps(p, g) for p in kept)
    micro = [sum(v[k] for v in st.values()) for k in range(4)]
    res = dict(st)
    res["micro"] = micro
    res["type-agnostic"] = agn
    return res


def prf(c):
    ng, ngf, npred, npc = c
    p = npc / npred if npred else None
    r = ngf / ng if ng else None
    if r == 0 or p == 0:
        f = 0.0
    elif p is not None and r is not None:
        f = 2 * p * r / (p + r)
    else:
        f = None
    return p, r, f


def fmt(x):
    return "–" if x is None else f"{x:.3f}"


def span_table(title, results: dict[str, dict]):
    """results: {system: score_spans(...)}; prints one Markdown table with the systems side by side."""
    systems = list(results)
    types = sorted({t for r in results.values() for t in r if t not in ("micro", "type-agnostic")},
                   key=lambda t: (-max(results[s].get(t, [0])[0] for s in systems), t))
    types += ["micro", "type-agnostic"]
    print(f"\n### {title}\n")
    head = "| type | gold |" + "".join(f" {s} pred | {s} P | {s} R | {s} F1 |" for s in systems)
    print(head)
    print("|" + "---|" * (2 + 4 * len(systems)))
    for t in types:
        gold = max(results[s].get(t, [0, 0, 0, 0])[0] for s in systems)
        row = f"| {'**' + t + '**' if t in ('micro', 'type-agnostic') else t} | {gold} |"
        for s in systems:
            c = results[s].get(t, [gold, 0, 0, 0])
            p, r, f = prf(c)
            row += f" {c[2]} | {fmt(p)} | {fmt(r)} | {fmt(f)} |"
        print(row)


def negatives_table(title, recs, preds_by_sys):
    print(f"\n### {title}\n")
    cats = sorted({r.get("category", "all") for r in recs})
    systems = list(preds_by_sys)
    print("| category | KB | " + " | ".join(f"{s} findings | {s} per 100 KB | {s} top types" for s in systems) + " |")
    print("|" + "---|" * (2 + 3 * len(systems)))
    tot_kb = 0
    tot = Counter()
    for cat in cats + ["**all**"]:
        idx = [i for i, r in enumerate(recs) if cat == "**all**" or r.get("category", "all") == cat]
        kb = sum(len(recs[i]["text"].encode()) for i in idx) / 1000
        row = f"| {cat} | {kb:.0f} |"
        for s in systems:
            c = Counter(p["type"] for i in idx for p in s_preds(preds_by_sys[s], i))
            n = sum(c.values())
            top = ", ".join(f"{t} {k}" for t, k in c.most_common(4)) or "–"
            row += f" {n} | {100 * n / kb:.2f} | {top} |" if kb else " – | – | – |"
        print(row)


def s_preds(preds, i):
    return preds.get(i, [])


def injection_report(recs, preds, system="covault"):
    tp = fp = fn = tn = 0
    by_kind = defaultdict(lambda: [0, 0])
    for i, r in enumerate(recs):
        yhat = any(p["type"] == "PROMPT_INJECTION" for p in preds.get(i, []))
        y = r["label"] == 1
        tp += y and yhat
        fn += y and not yhat
        fp += (not y) and yhat
        tn += (not y) and not yhat
        k = f"{'+' if y else '-'} {r.get('kind', '?').split(':')[0]}"
        by_kind[k][0] += 1
        by_kind[k][1] += yhat
    p = tp / (tp + fp) if tp + fp else None
    rc = tp / (tp + fn) if tp + fn else None
    f = 2 * p * rc / (p + rc) if p and rc else 0.0
    fpr = fp / (fp + tn) if fp + tn else None
    print(f"\n### Prompt injection ({system})\n")
    print("| records | positives | TP | FP | FN | TN | P | R | F1 | FPR |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {len(recs)} | {tp + fn} | {tp} | {fp} | {fn} | {tn} | {fmt(p)} | {fmt(rc)} | {fmt(f)} | {fmt(fpr)} |")
    print("\n| kind (+ positive / - negative) | records | flagged | rate |")
    print("|---|---|---|---|")
    for k in sorted(by_kind):
        n, fl = by_kind[k]
        print(f"| {k} | {n} | {fl} | {fl / n:.3f} |")
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "precision": p, "recall": rc, "f1": f, "fpr": fpr}


def secrets_report(recs, preds, system="covault"):
    res = score_spans(recs, preds)
    span_table(f"Secrets held-out (Bandit examples) — {system}", {system: {k: v for k, v in res.items()
                                                                             if k in ("SECRET", "micro", "type-agnostic")}})
    for ent in ("high", "low"):
        g = [(i, s) for i, r in enumerate(recs) for s in r["spans"] if s.get("entropy") == ent]
        found = sum(any(overlaps(p, s) and p["type"] == "SECRET" for p in preds.get(i, [])) for i, s in g)
        print(f"- recall on {ent}-entropy secrets: {found}/{len(g)}")
    other = Counter(p["type"] for ps in preds.values() for p in ps if p["type"] != "SECRET")
    if other:
        print(f"- other findings on these files: {dict(other.most_common())}")
    return res


# --------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("COVAULT_BIN", str(REPO / "target/release/covault")))
    ap.add_argument("--corpus", default=",".join(ALL), help=f"comma list from {ALL}")
    ap.add_argument("--limit", type=int, default=None, help="N evenly spaced records of each corpus")
    ap.add_argument("--min-score", type=float, default=None)
    ap.add_argument("--presidio", action="store_true", help="also run Presidio on the PII corpora")
    ap.add_argument("--presidio-threshold", type=float, default=0.0,
                    help="Presidio score_threshold (default 0: out of the box)")
    ap.add_argument("--presidio-negatives", action="store_true", help="also run Presidio on negatives.jsonl (slow)")
    ap.add_argument("--no-covault", action="store_true", help="only Presidio (baseline numbers)")
    ap.add_argument("--findings", type=Path, help="score this saved jsonl output instead of running covault "
                                                   "(single corpus only)")
    ap.add_argument("--scan-arg", action="append", default=[], help="extra argument for covault scan")
    ap.add_argument("--json-out", type=Path, help="write all scores as JSON here")
    a = ap.parse_args()

    names = [c.strip() for c in a.corpus.split(",") if c.strip()]
    if a.findings and len(names) != 1:
        sys.exit("--findings needs exactly one --corpus")
    if not a.no_covault and not a.findings and not (Path(a.bin).is_file() and os.access(a.bin, os.X_OK)):
        sys.exit(f"covault binary not found at {a.bin} (build with `cargo build --release` or set COVAULT_BIN)")
    summary = {}
    print("# covault scan evaluation\n")
    if not a.no_covault:
        print(f"binary: `{a.findings or a.bin}`" + (f", --min-score {a.min_score}" if a.min_score is not None else ""))
    if a.presidio or a.presidio_negatives:
        print(f"Presidio: score_threshold {a.presidio_threshold}, default recognizers for 'en', spaCy en_core_web_sm 3.8.0")
    for name in names:
        recs = load(name, a.limit)
        if recs is None:
            print(f"\n(corpus {name}.jsonl not found, skipped)")
            continue
        kb = sum(len(r["text"].encode()) for r in recs) / 1000
        systems = {}
        if not a.no_covault:
            if a.findings:
                systems["covault"] = parse_findings(a.findings.read_text(encoding="utf-8"), recs)
                dt = None
            else:
                systems["covault"], dt = run_covault(a.bin, recs, a.min_score, a.scan_arg)
            print(f"\n## {name}: {len(recs)} records, {kb:.0f} KB" + (f"; covault scan took {dt:.2f} s" if dt else ""))
        else:
            print(f"\n## {name}: {len(recs)} records, {kb:.0f} KB")
        want_presidio = (a.presidio and name in PII_CORPORA) or (a.presidio_negatives and name == "negatives")
        if want_presidio:
            systems["presidio"], pdt = run_presidio(recs, a.presidio_threshold)
            print(f"presidio took {pdt:.1f} s ({kb / 1000 / pdt:.3f} MB/s, one core, whole pipeline)")
        if not systems:
            continue
        if name in PII_CORPORA:
            res = {s: score_spans(recs, p) for s, p in systems.items()}
            span_table(f"{name} — per type (span overlap)", res)
            summary[name] = res
        elif name == "secrets_heldout":
            summary[name] = {s: secrets_report(recs, p, s) for s, p in systems.items()}
        elif name == "negatives":
            negatives_table(f"{name} — findings on text with nothing labelled", recs, systems)
            summary[name] = {s: {"findings": sum(len(v) for v in p.values()), "kb": kb} for s, p in systems.items()}
        elif name == "injection":
            summary[name] = {s: injection_report(recs, p, s) for s, p in systems.items()}
    if a.json_out:
        a.json_out.write_text(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()

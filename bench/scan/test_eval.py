#!/usr/bin/env python3
"""Tests for eval.py's offset mapping and scoring, on hand-written fake scanner output.

Run: python3 bench/scan/test_eval.py   (or pytest bench/scan/test_eval.py)
No covault binary needed: one test drives eval.run_covault with a fake `covault`
script that finds e-mail addresses with a regex and reports byte offsets.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval as ev  # noqa: E402

RECS = [
    # 0: PERSON (with a non-ASCII char before it) and an EMAIL; TITLE is ignored
    {"id": "a", "text": "Réf: Mr. Zoë Müller, zoë@example.com",
     "spans": [{"start": 5, "end": 8, "type": "TITLE"}, {"start": 9, "end": 19, "type": "PERSON"},
               {"start": 21, "end": 36, "type": "EMAIL_ADDRESS"}]},
    # 1: a phone number that nobody finds
    {"id": "b", "text": "Call 212-555-0134 now", "spans": [{"start": 5, "end": 17, "type": "PHONE_NUMBER"}]},
    # 2: nothing labelled
    {"id": "c", "text": "日本語のテキスト 😀 only", "spans": []},
]


def b(text, ch):
    """char offset -> byte offset"""
    return len(text[:ch].encode("utf-8"))


def fake_output():
    t0, t2 = RECS[0]["text"], RECS[2]["text"]
    lines = [
        # correct PERSON, partial overlap ("Zoë Mü") -> counts
        {"path": "/tmp/x/0.txt", "type": "PERSON", "start": b(t0, 9), "end": b(t0, 15), "score": 0.8, "detector": "ner"},
        # correct e-mail, exact
        {"path": "/tmp/x/0.txt", "type": "EMAIL_ADDRESS", "start": b(t0, 21), "end": b(t0, 36), "score": 1.0, "detector": "email"},
        # PERSON on the ignored TITLE "Mr." only -> dropped (neither TP nor FP)
        {"path": "/tmp/x/0.txt", "type": "PERSON", "start": b(t0, 5), "end": b(t0, 8), "score": 0.3, "detector": "ner"},
        # LOCATION overlapping the PERSON gold -> typed FP, type-agnostic TP
        {"path": "/tmp/x/0.txt", "type": "LOCATION", "start": b(t0, 13), "end": b(t0, 19), "score": 0.5, "detector": "ner"},
        # FP on record 2, after multi-byte text
        {"path": "/tmp/x/2.txt", "type": "PERSON", "start": b(t2, 11), "end": b(t2, 15), "score": 0.5, "detector": "ner"},
        # PROMPT_INJECTION is not a span type for PII scoring
        {"path": "/tmp/x/2.txt", "type": "PROMPT_INJECTION", "start": 0, "end": 3, "score": 0.9, "detector": "pi"},
    ]
    return "\n".join(json.dumps(x) for x in lines) + "\n"


def test_offsets_map_bytes_to_chars():
    preds = ev.parse_findings(fake_output(), RECS)
    t0 = RECS[0]["text"]
    p = preds[0][1]
    assert t0[p["start"]:p["end"]] == "zoë@example.com"
    assert t0[preds[0][0]["start"]:preds[0][0]["end"]] == "Zoë Mü"
    t2 = RECS[2]["text"]
    assert t2[preds[2][0]["start"]:preds[2][0]["end"]] == "only"


def test_span_scores():
    preds = ev.parse_findings(fake_output(), RECS)
    s = ev.score_spans(RECS, preds)
    assert s["PERSON"] == [1, 1, 2, 1], s["PERSON"]          # gold 1 found; 2 preds kept (1 dropped), 1 correct
    assert s["EMAIL_ADDRESS"] == [1, 1, 1, 1]
    assert s["PHONE_NUMBER"] == [1, 0, 0, 0]
    assert s["LOCATION"] == [0, 0, 1, 0]
    assert "TITLE" not in s and "PROMPT_INJECTION" not in s
    assert s["micro"] == [3, 2, 4, 2]
    assert s["type-agnostic"] == [3, 2, 4, 3]                # LOCATION overlaps the PERSON gold
    p, r, f = ev.prf(s["micro"])
    assert abs(p - 0.5) < 1e-9 and abs(r - 2 / 3) < 1e-9 and abs(f - 4 / 7) < 1e-9
    assert ev.prf([0, 0, 0, 0]) == (None, None, None)


def test_injection_scores(capsys=None):
    recs = [{"text": "x", "label": 1, "kind": "direct"}, {"text": "y", "label": 1, "kind": "indirect"},
            {"text": "z", "label": 0, "kind": "doc"}, {"text": "w", "label": 0, "kind": "doc"}]
    preds = {0: [{"type": "PROMPT_INJECTION", "start": 0, "end": 1}], 2: [{"type": "PROMPT_INJECTION", "start": 0, "end": 1}],
             3: [{"type": "EMAIL_ADDRESS", "start": 0, "end": 1}]}
    r = ev.injection_report(recs, preds)
    assert (r["tp"], r["fp"], r["fn"], r["tn"]) == (1, 1, 1, 1)
    assert r["precision"] == 0.5 and r["recall"] == 0.5 and r["fpr"] == 0.5


def test_run_covault_with_fake_binary():
    """End to end: records -> files -> one scan of the directory -> findings mapped back."""
    with tempfile.TemporaryDirectory() as d:
        fake = Path(d) / "covault"
        fake.write_text(
            "#!/usr/bin/env python3\n"
            "import sys, os, re, json\n"
            "args = sys.argv[1:]\n"
            "assert args[:3] == ['scan', '--format', 'jsonl'], args\n"
            "root = args[-1]; n = 0\n"
            "for f in sorted(os.listdir(root)):\n"
            "    data = open(os.path.join(root, f), 'rb').read()\n"
            "    for m in re.finditer(rb'[\\w.\\x80-\\xff]+@[\\w.]+', data):\n"
            "        n += 1\n"
            "        print(json.dumps({'path': os.path.join(root, f), 'type': 'EMAIL_ADDRESS', 'start': m.start(),\n"
            "                          'end': m.end(), 'score': 1.0, 'detector': 'email'}))\n"
            "sys.exit(1 if n else 0)\n")
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
        preds, _ = ev.run_covault(str(fake), RECS, None, [])
        assert list(preds) == [0]
        p = preds[0][0]
        assert RECS[0]["text"][p["start"]:p["end"]] == "zoë@example.com"
        s = ev.score_spans(RECS, preds)
        assert s["EMAIL_ADDRESS"] == [1, 1, 1, 1] and s["PERSON"] == [1, 0, 0, 0]


if __name__ == "__main__":
    n = 0
    for name, fn in list(globals().items()):
        if name.startswith("test_"):
            fn()
            n += 1
            print(f"ok {name}")
    print(f"{n} passed, 0 failed")

#!/usr/bin/env bash
# Document extraction benchmark: the same generated documents (DOCX, XLSX, PPTX, PDF, HTML,
# CSV — about BENCH_ROWS paragraphs/rows each, with PII; written by python-docx, openpyxl,
# python-pptx and reportlab) read by covault-extract (release build, one core) and by the
# Python libraries people use for each format (python-docx, openpyxl read-only, python-pptx,
# pypdf, html.parser, csv), in one run. Prints MB/s of input per format for both and the ratio.
#
# Environment: COVAULT_BENCH_VENV (target/bench-venv), BENCH_ROWS (5000).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${COVAULT_BENCH_VENV:-target/bench-venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c "import docx, openpyxl, pptx, reportlab, pypdf" 2>/dev/null \
  || "$VENV/bin/pip" install -q --disable-pip-version-check \
    python-docx==1.2.0 openpyxl==3.1.5 python-pptx==1.0.2 reportlab==5.1.0 pypdf==7.1.1 \
    odfpy==1.4.1 msoffcrypto-tool==6.1.0
OUT=target/extract-bench
rm -rf "$OUT"
"$VENV/bin/python" crates/extract/tests/fixtures/make_docs.py "$OUT" --bench "${BENCH_ROWS:-5000}" >/dev/null
echo "== covault-extract (release, one worker thread per document)"
COVAULT_BENCH_DOCS="$PWD/$OUT/bench" cargo bench --locked -q -p covault-extract --bench extract | tee "$OUT/covault.txt"
echo
echo "== Python readers"
"$VENV/bin/python" bench/extract/peer.py "$OUT/bench" | tee "$OUT/peer.txt"
echo
echo "== ratio (covault MB/s / Python MB/s)"
python3 - "$OUT/covault.txt" "$OUT/peer.txt" <<'PY'
import sys
def table(path, col):
    rows = {}
    for line in open(path):
        f = line.split()
        if len(f) > col and f[0] != "format":
            try:
                rows[f[0]] = float(f[col])
            except ValueError:
                pass
    return rows
ours, theirs = table(sys.argv[1], 3), table(sys.argv[2], 2)
for fmt, mbs in sorted(ours.items()):
    if fmt in theirs and theirs[fmt] > 0:
        print(f"{fmt:<10} {mbs:>10.2f} vs {theirs[fmt]:>8.2f} MB/s   {mbs / theirs[fmt]:>6.1f}x")
PY

"""The peer side of bench/extract.sh: extracts text from each benchmark document with the
Python library people use for its format, and prints input MB/s per format.

python-docx (paragraphs and tables), openpyxl (read-only, every cell), python-pptx (every
shape's text frame), pypdf (extract_text per page), html.parser (text data), csv (rows).
"""

import csv
import io
import os
import sys
import time
from html.parser import HTMLParser


def docx_text(path):
    import docx

    d = docx.Document(path)
    out = [p.text for p in d.paragraphs]
    for t in d.tables:
        for row in t.rows:
            out.extend(c.text for c in row.cells)
    return "\n".join(out)


def xlsx_text(path):
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    out = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            out.append("\t".join("" if v is None else str(v) for v in row))
    return "\n".join(out)


def pptx_text(path):
    from pptx import Presentation

    out = []
    for slide in Presentation(path).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                out.append(shape.text_frame.text)
    return "\n".join(out)


def pdf_text(path):
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.out = []

    def handle_data(self, data):
        self.out.append(data)


def html_text(path):
    p = _Text()
    with open(path, encoding="utf-8") as f:
        p.feed(f.read())
    return "".join(p.out)


def csv_text(path):
    with open(path, newline="", encoding="utf-8") as f:
        return "\n".join("\t".join(r) for r in csv.reader(f))


READERS = {
    "DOCX": ("bench.docx", docx_text),
    "XLSX": ("bench.xlsx", xlsx_text),
    "PPTX": ("bench.pptx", pptx_text),
    "PDF": ("bench.pdf", pdf_text),
    "HTML": ("bench.html", html_text),
    "CSV": ("bench.csv", csv_text),
}


def main():
    root = sys.argv[1]
    print("format     input MB   MB/s    text MB")
    for fmt, (name, read) in READERS.items():
        path = os.path.join(root, name)
        size = os.path.getsize(path)
        rounds, spent, text = 0, 0.0, ""
        while rounds < 3 or (spent < 2.0 and rounds < 50):
            start = time.process_time()
            text = read(path)
            spent += time.process_time() - start
            rounds += 1
        mbs = size / 1e6 / (spent / rounds)
        print(f"{fmt:<10} {size / 1e6:>8.2f} {mbs:>7.2f} {len(text.encode()) / 1e6:>9.2f}")


if __name__ == "__main__":
    main()

"""Parses CEF records (one per stdin line) with `cefp` and checks their extensions against
the ArcSight extension dictionary that `syslog2cef` (import name `syslogcef`) ships.

`cefp` splits the header on unescaped pipes and unescapes `\\|`, `\\\\`, `\\=`, `\\n` and
`\\r`, as the CEF specification defines them. `validate_extensions` reports keys outside the
dictionary and values of the wrong type (a timestamp, an IPv4 address, a port, a number) or
over the dictionary's length.

Prints a JSON array, one entry per record: the parsed header and extension (values
unescaped) and the dictionary findings (empty when every key and value conforms).
"""

import json
import sys

from cefp import CEFParser
from syslogcef.validation import validate_extensions


def main():
    results = []
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        parsed = CEFParser.parse(line)
        findings = [str(f) for f in validate_extensions(parsed["extension"])]
        results.append({**parsed, "findings": findings})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()

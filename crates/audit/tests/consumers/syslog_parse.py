"""Parses RFC 5424 syslog messages framed by RFC 6587 octet counting (`LEN SP MSG`) on stdin.

Each message is read by two parsers, and both must accept it:
- `syslog-rfc5424-parser`, whose grammar is the RFC's ABNF (printable US-ASCII header fields
  of bounded length, SD-NAMEs of at most 32 characters, quoted PARAM-VALUEs); it leaves
  PARAM-VALUEs escaped, so they are unescaped here as RFC 5424 §6.3.3 says;
- `syslog2cef`'s `parse_rfc5424` (import name `syslogcef`), which unescapes them itself.

Prints a JSON array, one entry per message: the header, the structured data as each parser
read it, whether MSG began with the UTF-8 BOM, and MSG without it.
"""

import json
import re
import sys

from syslog_rfc5424_parser import SyslogMessage
from syslogcef.parsers import parse_rfc5424

BOM = "\ufeff"


def frames(data):
    """Splits octet-counted frames: LEN is the byte length of the MSG after the space."""
    pos = 0
    while pos < len(data):
        space = data.index(b" ", pos)
        length = int(data[pos:space])
        start = space + 1
        yield data[start : start + length].decode("utf-8")
        pos = start + length


def unescape(value):
    return re.sub(r'\\(["\\\]])', r"\1", value)


def read(message):
    strict = SyslogMessage.parse(message)
    other = parse_rfc5424(message)
    if other is None:
        raise SystemExit(f"syslog2cef cannot parse {message!r}")
    sd_strict = {
        sd_id: {name: unescape(value) for name, value in params.items()}
        for sd_id, params in strict.sd.items()
    }
    msg = strict.msg or ""
    return {
        "facility": int(strict.facility),
        "severity": int(strict.severity),
        "version": strict.version,
        "timestamp": strict.timestamp,
        "hostname": strict.hostname,
        "appname": strict.appname,
        "procid": strict.procid,
        "msgid": strict.msgid,
        "sd": sd_strict,
        "sd_syslogcef": other.sd,
        "bom": msg.startswith(BOM),
        "msg": msg[len(BOM):] if msg.startswith(BOM) else msg,
        "msg_syslogcef": other.msg.removeprefix(BOM),
    }


def main():
    json.dump([read(m) for m in frames(sys.stdin.buffer.read())], sys.stdout)


if __name__ == "__main__":
    main()

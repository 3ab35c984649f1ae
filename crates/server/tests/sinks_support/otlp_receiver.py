"""An OTLP/HTTP logs receiver for the sink tests.

Decodes each POST /v1/logs body with the official protobuf bindings (`opentelemetry-proto`)
and `google.protobuf.json_format.Parse` (which rejects unknown fields and wrongly typed
values), answers 200, and then appends one JSON line per log record to
`<dir>/records.jsonl` (so the file holds what was acknowledged). While `<dir>/down` exists
it answers 503 and appends a line to `<dir>/refused`. A body that does not parse is answered 400 and described in `<dir>/errors`.

Usage: otlp_receiver.py PORT DIR  (PORT 0 picks one; the port is written to `<dir>/port`).
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest


def value(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


LOCK = threading.Lock()


def append(path, text):
    with LOCK, open(path, "a", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())


def records(request, api_key):
    for resource_logs in request.resource_logs:
        resource = {kv.key: value(kv.value) for kv in resource_logs.resource.attributes}
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                attributes = {kv.key: value(kv.value) for kv in record.attributes}
                yield {
                    "seq": attributes["covault.seq"],
                    "line": json.loads(record.body.string_value),
                    "event_name": record.event_name,
                    "severity_number": record.severity_number,
                    "service": resource.get("service.name"),
                    "scope": scope_logs.scope.name,
                    "api_key": api_key,
                }


def handler(directory):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, status, body=b"{}"):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != "/v1/logs":
                return self.answer(404)
            if os.path.exists(os.path.join(directory, "down")):
                append(os.path.join(directory, "refused"), "503\n")
                return self.answer(503)
            try:
                if self.headers.get("Content-Type") != "application/json":
                    raise ValueError("content type " + str(self.headers.get("Content-Type")))
                request = json_format.Parse(body, ExportLogsServiceRequest())
                api_key = self.headers.get("x-api-key")
                lines = "".join(json.dumps(r) + "\n" for r in records(request, api_key))
            except Exception as error:  # noqa: BLE001 - every failure is reported to the test
                append(os.path.join(directory, "errors"), repr(error) + "\n")
                return self.answer(400)
            # Acknowledge first, then record: the file holds only acknowledged records, so a
            # test that kills the receiver once it sees them cannot cut off the answer.
            self.answer(200)
            append(os.path.join(directory, "records.jsonl"), lines)

        def log_message(self, *args):
            pass

    return Handler


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", port), handler(directory))
    with open(os.path.join(directory, "port.tmp"), "w", encoding="utf-8") as out:
        out.write(str(server.server_address[1]))
    os.replace(os.path.join(directory, "port.tmp"), os.path.join(directory, "port"))
    server.serve_forever()


if __name__ == "__main__":
    main()

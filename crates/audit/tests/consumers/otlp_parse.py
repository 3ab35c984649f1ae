"""Parses an OTLP/HTTP JSON `ExportLogsServiceRequest` (stdin) with the official protobuf
bindings (`opentelemetry-proto`) and `google.protobuf.json_format.Parse`, which rejects
unknown fields and wrongly typed values. The message is then serialised to the binary wire
format and parsed again, as a collector receiving it over protobuf would.

Prints a JSON object: the resource attributes, the scope, and per log record its fields
with attribute values decoded (`intValue` as a number).
"""

import json
import sys

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest


def value(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def attributes(key_values):
    return {kv.key: value(kv.value) for kv in key_values}


def main():
    request = json_format.Parse(sys.stdin.read(), ExportLogsServiceRequest())
    request = ExportLogsServiceRequest.FromString(request.SerializeToString())
    out = []
    for resource_logs in request.resource_logs:
        for scope_logs in resource_logs.scope_logs:
            out.append(
                {
                    "resource": attributes(resource_logs.resource.attributes),
                    "scope": {"name": scope_logs.scope.name, "version": scope_logs.scope.version},
                    "records": [
                        {
                            "time_unix_nano": r.time_unix_nano,
                            "observed_time_unix_nano": r.observed_time_unix_nano,
                            "severity_number": r.severity_number,
                            "severity_text": r.severity_text,
                            "body": value(r.body),
                            "event_name": r.event_name,
                            "attributes": attributes(r.attributes),
                        }
                        for r in scope_logs.log_records
                    ],
                }
            )
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

"""Validates OCSF events (one JSON object per stdin line) against the official OCSF schema.

The schema is the one `ocsf-json-schema` bundles (schema.ocsf.io's export of each release,
turned into JSON Schema draft 2020-12 with every object embedded), so nothing is fetched:
each event is checked against the class its `class_uid` names, in the OCSF version its
`metadata.version` names, with unknown attributes rejected (`additionalProperties: false`).

Prints a JSON array, one entry per event: its class and the validation errors (empty when
the event is valid).
"""

import json
import sys

import jsonschema
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

_schemas = {}
_validators = {}


def validator(version, class_uid):
    if version not in _schemas:
        _schemas[version] = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=version))
    key = (version, class_uid)
    if key not in _validators:
        schemas = _schemas[version]
        schema = schemas.get_class_schema(schemas.lookup_class_name_from_uid(class_uid))
        jsonschema.Draft202012Validator.check_schema(schema)
        _validators[key] = jsonschema.Draft202012Validator(schema)
    return _validators[key]


def main():
    results = []
    for line in sys.stdin:
        if not line.strip():
            continue
        event = json.loads(line)
        check = validator(event["metadata"]["version"], event["class_uid"])
        errors = [
            f"{'/'.join(map(str, e.absolute_path)) or '<event>'}: {e.message}"
            for e in check.iter_errors(event)
        ]
        results.append(
            {
                "class_uid": event["class_uid"],
                "class_name": check.schema["title"],
                "required": check.schema.get("required", []),
                "errors": errors,
            }
        )
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()

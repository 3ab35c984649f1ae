"""Drives the official Anthropic and OpenAI Python SDKs against covault's gateway.

Reads {"base_url", "api_key", "headers", "cases": [...]} as JSON on stdin and prints one JSON
result per case (a list). Each case names the SDK and the operation; errors are caught and
reported with the SDK's exception class, HTTP status, body and Retry-After header, so the Rust
test can assert on what a real client sees.
"""

import json
import sys

import anthropic
import openai


def anthropic_client(spec):
    return anthropic.Anthropic(
        base_url=spec["base_url"],
        api_key=spec["api_key"],
        max_retries=0,
        default_headers=spec.get("headers") or {},
    )


def openai_client(spec):
    return openai.OpenAI(
        base_url=spec["base_url"] + "/v1",
        api_key=spec["api_key"],
        max_retries=0,
        default_headers=spec.get("headers") or {},
    )


def anthropic_blocks(message):
    text = "".join(b.text for b in message.content if b.type == "text")
    tools = [b.input for b in message.content if b.type == "tool_use"]
    return text, tools


def run_anthropic(spec, case):
    client = anthropic_client(spec)
    op = case["op"]
    kwargs = dict(model=case.get("model"), max_tokens=256, messages=case.get("messages"))
    if case.get("system"):
        kwargs["system"] = case["system"]
    if case.get("tools"):
        kwargs["tools"] = case["tools"]
    if op == "create":
        message = client.messages.create(**kwargs)
        text, tools = anthropic_blocks(message)
        return {"text": text, "tools": tools, "usage": message.usage.model_dump()}
    if op == "stream":
        deltas = 0
        events = 0
        with client.messages.stream(**kwargs) as stream:
            for event in stream:
                events += 1
                if event.type == "content_block_delta":
                    deltas += 1
            message = stream.get_final_message()
        text, tools = anthropic_blocks(message)
        return {"text": text, "tools": tools, "deltas": deltas, "events": events,
                "usage": message.usage.model_dump()}
    if op == "count_tokens":
        result = client.messages.count_tokens(model=case["model"], messages=case["messages"])
        return {"input_tokens": result.input_tokens}
    if op == "models":
        return {"models": [m.id for m in client.models.list()]}
    raise ValueError(op)


def run_openai(spec, case):
    client = openai_client(spec)
    op = case["op"]
    kwargs = dict(model=case.get("model"), messages=case.get("messages"))
    if case.get("tools"):
        kwargs["tools"] = case["tools"]
    if op == "create":
        completion = client.chat.completions.create(**kwargs)
        message = completion.choices[0].message
        tools = [json.loads(c.function.arguments) for c in (message.tool_calls or [])]
        return {"text": message.content or "", "tools": tools,
                "usage": completion.usage.model_dump() if completion.usage else None}
    if op == "stream":
        text = ""
        args = {}
        chunks = 0
        usage = None
        stream = client.chat.completions.create(stream=True, **kwargs)
        for chunk in stream:
            chunks += 1
            if chunk.usage:
                usage = chunk.usage.model_dump()
            for choice in chunk.choices:
                if choice.delta.content:
                    text += choice.delta.content
                for call in choice.delta.tool_calls or []:
                    if call.function and call.function.arguments:
                        args[call.index] = args.get(call.index, "") + call.function.arguments
        tools = [json.loads(args[i]) for i in sorted(args)]
        return {"text": text, "tools": tools, "deltas": chunks, "usage": usage}
    if op == "models":
        return {"models": [m.id for m in client.models.list()]}
    raise ValueError(op)


def failure(e):
    out = {"error": type(e).__name__, "message": str(e)}
    status = getattr(e, "status_code", None)
    if status is not None:
        out["status"] = status
        out["body"] = getattr(e, "body", None)
        response = getattr(e, "response", None)
        if response is not None:
            out["retry_after"] = response.headers.get("retry-after")
    return out


def main():
    spec = json.load(sys.stdin)
    results = []
    for case in spec["cases"]:
        try:
            if case["sdk"] == "anthropic":
                results.append(run_anthropic(spec, case))
            else:
                results.append(run_openai(spec, case))
        except (anthropic.APIError, openai.APIError) as e:
            results.append(failure(e))
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()

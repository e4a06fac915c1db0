"""The OpenAPI "try it" example, built from the models the service has loaded.

A static example would name one project's entity keys and fields whatever model is served (and
answer 400 the moment the model reads another field). Here ``GET /docs.json`` is answered by
BentoML and then its ``/predict`` example is replaced by one built from a loaded model: its tag
(or UUID), its entity keys and its program's request fields, each with a value of its type.
It is an ASGI middleware added through BentoML's public ``add_asgi_middleware``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

_FIELD_EXAMPLES: dict[str, Any] = {"float": 1.0, "int": 1, "bool": False, "string": "text"}
_KEY_EXAMPLES: dict[str, Any] = {"STRING": "key", "BYTES": "key", "BOOL": False,
                                 "FLOAT": 1.0, "DOUBLE": 1.0}
DOCS_PATH = "/docs.json"
INPUT_SCHEMA = "predict__Input"


def _field_example(dtype: str) -> Any:
    if dtype == "timestamp":
        return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    return _FIELD_EXAMPLES.get(dtype, None)


def example_request(predictor: Any) -> dict[str, Any] | None:
    """``{"model": name, "rows": [row]}`` for a model ``predictor`` has loaded (a tagged one
    first), or None when none is loaded."""
    loaded = predictor.loaded()
    if not loaded:
        return None
    by_uuid = {uuid: tag for tag, uuid in sorted(predictor.router.tags().items())}
    uuid = next((u for u in loaded if u in by_uuid), next(iter(loaded)))
    model = loaded[uuid]
    row: dict[str, Any] = {k.name: _KEY_EXAMPLES.get(k.feast_type.upper(), 1) for k in model.entity_keys}
    row.update({name: _field_example(dtype) for name, dtype in model.request_fields.items()})
    return {"model": by_uuid.get(uuid, uuid), "rows": [row]}


def patch_spec(spec: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    """``spec`` (BentoML's OpenAPI document) with the ``/predict`` input example set to ``example``."""
    properties = spec.get("components", {}).get("schemas", {}).get(INPUT_SCHEMA, {}).get("properties", {})
    if "model" in properties:
        properties["model"]["examples"] = [example["model"]]
    if "rows" in properties:
        properties["rows"]["examples"] = [example["rows"]]
    return spec


class OpenAPIExampleMiddleware:
    """Rewrites the ``/predict`` example of ``GET /docs.json`` from the loaded models."""

    #: the predictor of this worker's service, set when the service starts
    predictor: Any = None

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("path") != DOCS_PATH or self.predictor is None:
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await send_patched()

        async def send_patched() -> None:
            body = b"".join(chunks)
            example = example_request(self.predictor)
            if start.get("status") == 200 and example is not None:
                body = json.dumps(patch_spec(json.loads(body), example)).encode()
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)

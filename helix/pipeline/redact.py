"""Redaction stage: no detected PII or secret reaches a provider, the cache or the database.

Every provider-visible string of the request (every field and key, see `helix/pii/walk.py`) is
analysed through its canonical view and across message seams, and rewritten in place per the
configured action. Short requests are analysed inline; longer ones in a worker thread, one chunk of
at most ~8 KB per job, so one huge request never holds up other requests' analysis for long.
Token-id inputs, which cannot be checked, are refused with a 400 (`pii_unverifiable_input`).
`block` refuses the request with a 400 that names entity types,
never values. Pseudonymized values (`<PERSON_1>`) are restored in the answer, streams included,
holding back at most a partial placeholder between chunks. Each detection is recorded as an
incident without its value. If analysis fails the request is refused (`on_error = "block"`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import Executor
from typing import Any

from helix.errors import HelixError, InvalidRequest
from helix.pii.analyzer import Finding
from helix.pii.config import OnError
from helix.pii.document import CHUNK_CHARS
from helix.pii.redact import Redaction, Redactor, redact_body
from helix.pii.restore import StreamRestorer, restore
from helix.pii.walk import UnverifiableInput, walk, write_back
from helix.pipeline.call import Call, Completed, Next, Reply, Streamed
from helix.store.writer import Writer

log = logging.getLogger("helix.pii")

INSERT_INCIDENT = (
    "INSERT INTO pii_incidents (request_id, ts, key_id, user, entity_type, count, max_score, action)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


class PiiCheckFailed(HelixError):
    status = 503
    type = "api_error"
    code = "pii_check_failed"


# Pattern-only analysis of a short request takes ~0.1 ms: less than handing it to a thread and back,
# which also halved throughput under load (GIL contention). Longer requests, and any NER analysis
# (~30 us per character), go to the executor so the event loop keeps serving others meanwhile.
INLINE_MAX_BYTES = 2048


class RedactStage:
    def __init__(
        self, redactor: Redactor, on_error: OnError, writer: Writer, executor: Executor, inline_max_bytes: int
    ) -> None:
        self._redactor = redactor
        self._on_error = on_error
        self._writer = writer
        self._executor = executor
        self._inline_max_bytes = inline_max_bytes

    async def _redact(self, call: Call) -> Redaction:
        if call.size <= self._inline_max_bytes:
            return redact_body(call.body, self._redactor)
        loop = asyncio.get_running_loop()
        fields = await loop.run_in_executor(self._executor, walk, call.body)
        plan = await loop.run_in_executor(self._executor, self._redactor.plan, fields)
        found: list[list[Finding]] = []
        for batch in _batches(plan.texts):
            found += await loop.run_in_executor(self._executor, self._redactor.engine.analyze_many, batch)
        redaction = await loop.run_in_executor(self._executor, plan.finish, found)
        write_back(fields, redaction.texts)
        return redaction

    async def __call__(self, call: Call, next: Next) -> Reply:
        try:
            redaction = await self._redact(call)
        except UnverifiableInput as exc:
            raise InvalidRequest(
                f"'{exc}' is given as token ids, which the PII firewall cannot check; send it as text",
                param=str(exc),
                code="pii_unverifiable_input",
            ) from None
        except Exception:
            log.exception("PII analysis failed for request %s", call.id)
            if self._on_error == "allow":
                return await next(call)
            raise PiiCheckFailed(
                "the PII check failed, so the request was not sent; see the server log "
                '(set [pii] on_error = "allow" to forward unchecked requests instead)'
            ) from None
        self._record(call, redaction)
        if redaction.blocked_entities:
            raise InvalidRequest(
                f"the request contains {', '.join(sorted(redaction.blocked_entities))}, which this gateway "
                "does not send to providers; remove it and retry",
                code="pii_blocked",
            )
        reply = await next(call)
        if not redaction.mapping:
            return reply
        if isinstance(reply, Streamed):
            return Streamed(_restore_stream(reply.chunks, redaction.mapping))
        _restore_completion(reply, redaction.mapping)
        return reply

    def _record(self, call: Call, redaction: Redaction) -> None:
        for entity, summary in redaction.findings.items():
            self._writer.submit(
                INSERT_INCIDENT,
                (call.id, call.ts, call.key_id, call.user, entity, summary.count, summary.max_score, summary.action),
            )


def _batches(texts: list[str]) -> list[list[str]]:
    """Consecutive texts grouped into jobs of at most CHUNK_CHARS (one text may be a job on its own)."""
    batches: list[list[str]] = []
    size = 0
    for text in texts:
        if not batches or size + len(text) > CHUNK_CHARS:
            batches.append([])
            size = 0
        batches[-1].append(text)
        size += len(text)
    return batches


def _restore_completion(reply: Completed, mapping: Mapping[str, str]) -> None:
    for choice in reply.body.get("choices") or []:
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        for field in ("content", "refusal"):
            if isinstance(message.get(field), str):
                message[field] = restore(message[field], mapping)
        for tool_call in message.get("tool_calls") or []:
            function = tool_call.get("function") or {}
            if isinstance(function.get("arguments"), str):
                function["arguments"] = restore(function["arguments"], mapping, json_escape=True)


async def _restore_stream(
    chunks: AsyncIterator[dict[str, Any]], mapping: Mapping[str, str]
) -> AsyncIterator[dict[str, Any]]:
    """Restore placeholders chunk by chunk; a placeholder split across chunks is held back until complete."""
    restorers: dict[tuple[int, int | None], StreamRestorer] = {}

    def restorer(choice: int, tool: int | None) -> StreamRestorer:
        if (choice, tool) not in restorers:
            restorers[(choice, tool)] = StreamRestorer(mapping, json_escape=tool is not None)
        return restorers[(choice, tool)]

    last: dict[str, Any] | None = None
    async for chunk in chunks:
        last = chunk
        for choice in chunk.get("choices") or []:
            index = int(choice.get("index") or 0)
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                delta["content"] = restorer(index, None).feed(delta["content"])
            for tool_call in delta.get("tool_calls") or []:
                function = tool_call.get("function") or {}
                if isinstance(function.get("arguments"), str):
                    function["arguments"] = restorer(index, int(tool_call.get("index") or 0)).feed(
                        function["arguments"]
                    )
            if choice.get("finish_reason"):
                _flush_into(delta, index, restorers)
                choice["delta"] = delta
        yield chunk
    leftover = {key: r.flush() for key, r in restorers.items()}
    if last is not None and any(leftover.values()):
        # The stream ended without a finish_reason chunk: hand over what was held back.
        for (choice, tool), text in leftover.items():
            if text and tool is None:
                yield {**last, "choices": [{"index": choice, "delta": {"content": text}, "finish_reason": None}]}


def _flush_into(delta: dict[str, Any], index: int, restorers: dict[tuple[int, int | None], StreamRestorer]) -> None:
    for (choice, tool), restorer in restorers.items():
        if choice != index:
            continue
        text = restorer.flush()
        if not text:
            continue
        if tool is None:
            delta["content"] = text + (delta.get("content") or "")
        else:
            delta.setdefault("tool_calls", []).append({"index": tool, "function": {"arguments": text}})

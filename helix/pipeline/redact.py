"""Redaction stage: no detected PII or secret reaches a provider, the cache or the database.

Every provider-visible string of the request (every field and key, see `helix/pii/walk.py`) is
analysed through its canonical view and across message seams, and rewritten in place per the
configured action. Short requests are analysed inline, and so are longer ones (up to 16 KB) whose text
the engine has not seen is short (a chat resending its history); the rest in a worker thread, one chunk
of at most ~8 KB per job, so one huge request never holds up other requests' analysis for long.
Token-id inputs and binary payloads whose text cannot be read (a PDF) are refused with a 400
(`pii_unverifiable_input`); PII in the text a binary payload carries (image metadata, the text of
a docx) with a 400 (`pii_in_binary`): a file cannot be rewritten.
`block` refuses the request with a 400 that names entity types,
never values. Pseudonymized values (`<PERSON_1>`) are restored in the answer, streams included,
holding back at most a partial placeholder between chunks. Each detection is recorded as an
incident without its value. If analysis fails the request is refused (`on_error = "block"`).

Answers (`[pii] scan_responses`): "store" (default) hands the cache stage `scrub_for_store`, so an
answer the model wrote PII into is passed on and never kept; "client" redacts it in what the client
receives, and the cache keeps that (streams through `StreamScrubber`'s bounded window, each analysis in
the PII executor, never on the event loop), before placeholders are restored.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from concurrent.futures import Executor
from functools import partial
from typing import Any, Protocol

import msgspec

from helix.call import Call, Chunk, Completed, Next, Reply, Streamed
from helix.errors import HelixError, InvalidRequest
from helix.pii.analyzer import Finding
from helix.pii.answers import StreamScrubber
from helix.pii.config import OnError, ScanResponses
from helix.pii.document import CHUNK_CHARS
from helix.pii.native_stream import TextKind, restore_strings, transform_native_stream
from helix.pii.redact import Plan, Redaction, Redactor, redact_body
from helix.pii.restore import StreamRestorer, restore
from helix.pii.walk import BinaryWithPii, Field, UnverifiableInput, walk, write_back
from helix.providers.forward import forwarded
from helix.store.writer import Writer
from helix.translate.completion_chunks import REASONING
from helix.translate.parts import ToolCalls

log = logging.getLogger("helix.pii")
_encode = msgspec.json.encode
_decode = msgspec.json.decode

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
# Up to this size a body's walk and plan run inline too (~35 µs a KB of new text, less for a history this engine
# has settled), and so does its analysis when what the engine has no result for yet is within INLINE_MAX_BYTES:
# a chat resending its history with a short new question never leaves the event loop.
PLAN_INLINE_MAX_BYTES = 16384
# Digests of short request bodies found clean, most recent last: a repeated request (retries, exact cache
# hits, the same prompt from many clients) skips walking and analysing it again.
CLEAN_BODIES = 8192
_CLEAN = Redaction(texts=[])


class RedactStage:
    def __init__(
        self,
        redactor: Redactor,
        on_error: OnError,
        writer: Writer,
        executor: Executor,
        inline_max_bytes: int,
        scan_responses: ScanResponses = "store",
        forwardable: Callable[[], Iterable[str]] | None = None,
    ) -> None:
        """`forwardable`: the client headers any configured provider passes on (a fallback's or another deployment's
        as well as the first target's); without it, the first target's."""
        self._forwardable = forwardable
        self._redactor = redactor
        self._on_error = on_error
        self._writer = writer
        self._executor = executor
        self._inline_max_bytes = inline_max_bytes
        self._scan_responses = scan_responses
        self._clean: OrderedDict[bytes, None] = OrderedDict()

    async def scrub_for_store(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """What the cache may keep of an answer: the answer, or None when the model wrote PII into it. Not a redacted
        copy: a hit would serve it to the next client as the answer (a tool call's city as `<LOCATION>`, for an agent
        to run), unlike what the first one got. With scan_responses = "client", the redacted copy every client gets."""
        encoded = _encode(body)
        copy: dict[str, Any] = _decode(encoded)
        changed = await self._scrub(copy, len(encoded))
        if self._scan_responses == "client":
            return copy
        return None if changed else body

    async def _scrub(self, body: dict[str, Any], size: int | None = None) -> bool:
        """Redact the PII the model wrote in `body`, in place (`size`: its encoded length, when known); whether there
        was any."""
        if (len(_encode(body)) if size is None else size) <= self._inline_max_bytes:
            return redact_body(body, self._redactor, answer=True).changed
        redaction = await asyncio.get_running_loop().run_in_executor(
            self._executor, partial(redact_body, body, self._redactor, answer=True)
        )
        return redaction.changed

    async def _scrub_reply(self, reply: Reply) -> Reply:
        if isinstance(reply, Streamed):
            scrubber = lambda _kind: _OffLoop(StreamScrubber(self._redactor), self._executor)  # noqa: E731
            return Streamed(
                _by_shape(
                    reply.chunks,
                    lambda chunks: _transform_stream(chunks, scrubber),
                    lambda events: transform_native_stream(events, scrubber, self._scrubbed_event),
                )
            )
        await self._scrub(reply.body)
        reply.raw = None  # changed in place
        return reply

    async def _scrubbed_event(self, event: dict[str, Any]) -> dict[str, Any]:
        await self._scrub(event)
        if type(event) is Chunk:
            event.raw = None  # changed in place
        return event

    async def _redact(self, call: Call) -> Redaction:
        if call.size <= self._inline_max_bytes:
            return self._redact_inline(call.body)
        # In jobs of at most CHUNK_CHARS of text, so other requests' jobs run between a huge body's; the walk
        # goes with the plan and the last batch with the finish (each hand-off to the thread and back costs).
        loop = asyncio.get_running_loop()
        if call.size <= PLAN_INLINE_MAX_BYTES:
            fields, plan = self._plan(call.body)
            engine = self._redactor.engine
            recalled = engine.recall(plan.texts)
            if recalled.unknown_chars <= self._inline_max_bytes:
                redaction = plan.finish(engine.complete(recalled))
                write_back(fields, redaction.texts)
                return redaction
        else:
            fields, plan = await loop.run_in_executor(self._executor, self._plan, call.body)
        *batches, last = _batches(plan.texts) or [[]]
        found: list[list[Finding]] = []
        for batch in batches:
            found += await loop.run_in_executor(self._executor, self._redactor.engine.analyze_many, batch)
        redaction = await loop.run_in_executor(self._executor, self._finish, plan, found, last)
        write_back(fields, redaction.texts)
        return redaction

    def _plan(self, body: dict[str, Any]) -> tuple[list[Field], Plan]:
        fields = walk(body, unreadable=self._redactor.cfg.unreadable_files)
        return fields, self._redactor.plan(fields)

    def _finish(self, plan: Plan, found: list[list[Finding]], last: list[str]) -> Redaction:
        return plan.finish(found + self._redactor.engine.analyze_many(last))

    def _redact_inline(self, body: dict[str, Any]) -> Redaction:
        key = hashlib.blake2b(_encode(body), digest_size=16).digest()  # a digest: no prompt text is kept
        if key in self._clean:
            self._clean.move_to_end(key)
            return _CLEAN
        redaction = redact_body(body, self._redactor)
        if not redaction.findings:
            self._clean[key] = None
            if len(self._clean) > CLEAN_BODIES:
                self._clean.popitem(last=False)
        return redaction

    def _check_headers(self, call: Call) -> None:
        """The client's headers passed on to the provider (API betas, versions) cannot be rewritten into anything it
        would take: one holding PII or a secret refuses the request."""
        # Every provider's: a fallback or another deployment of the route sends its own list (an OpenAI model falling
        # back to Claude sent anthropic-beta unchecked).
        names = tuple({*call.target.provider.forward, *(self._forwardable() if self._forwardable is not None else ())})
        for name, value in forwarded(call.headers, names).items():
            if found := self._redactor.redact([value]).findings:
                raise InvalidRequest(
                    f"header {name} contains {', '.join(sorted(found))}, which this gateway does not send to "
                    "providers; remove it and retry",
                    param=name,
                    code="pii_in_header",
                )

    async def __call__(self, call: Call, next: Next) -> Reply:
        self._check_headers(call)
        try:
            redaction = await self._redact(call)
        except UnverifiableInput as exc:
            how = "send it as text" if "token ids" in exc.what else "send its text instead"
            raise InvalidRequest(
                f"{exc}, which the PII firewall cannot check; {how}",
                param=exc.param,
                code="pii_unverifiable_input",
            ) from None
        except BinaryWithPii as exc:
            raise InvalidRequest(
                f"{exc} carries personal data or a secret in its embedded text (metadata or document "
                "text), which cannot be removed from the file; remove it from the file and retry",
                param=exc.param,
                code="pii_in_binary",
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
        if self._scan_responses == "client":
            reply = await self._scrub_reply(reply)  # before restore: the client's own values come back
        if not redaction.mapping:
            return reply
        mapping = redaction.mapping
        json_answer = _asks_json(call.body)
        if isinstance(reply, Streamed):

            def restorer(kind: TextKind) -> _Channel:
                escaped = kind == "arguments" or (kind == "answer" and json_answer)
                return _OnLoop(StreamRestorer(mapping, json_escape=escaped))

            async def restored(event: dict[str, Any]) -> dict[str, Any]:
                return restore_strings(event, mapping, json_text=json_answer)

            return Streamed(
                _by_shape(
                    reply.chunks,
                    lambda chunks: _transform_stream(chunks, restorer),
                    lambda events: transform_native_stream(events, restorer, restored),
                )
            )
        if not _is_chat(reply.body):  # passed through in the provider's own shape (responses, completions)
            return Completed(restore_strings(reply.body, mapping, json_text=json_answer))
        _restore_completion(reply, mapping, json_answer)
        reply.raw = None  # changed in place
        return reply

    def _record(self, call: Call, redaction: Redaction) -> None:
        for entity, summary in redaction.findings.items():
            self._writer.submit(
                INSERT_INCIDENT,
                (
                    call.id,
                    call.ts,
                    call.key.id if call.key else None,
                    call.user,
                    entity,
                    summary.count,
                    summary.max_score,
                    summary.action,
                ),
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


def _is_chat(body: dict[str, Any]) -> bool:
    return str(body.get("object", "")).startswith("chat.completion")


def _chat_shaped(chunk: dict[str, Any]) -> bool | None:
    """Whether a stream's chunk is a chat chunk (True) or a Responses event or completions chunk (False); None when it
    cannot tell: Azure OpenAI's first chunk carries only `prompt_filter_results`, no choices and an empty `object`."""
    if _is_chat(chunk):
        return True
    choices = chunk.get("choices")
    if isinstance(choices, list) and choices:
        return any(isinstance(choice, dict) and "delta" in choice for choice in choices)
    if chunk.get("object") or chunk.get("type"):
        return False
    return None


Chunks = AsyncIterator[dict[str, Any]]


async def _by_shape(chunks: Chunks, chat: Callable[[Chunks], Chunks], native: Callable[[Chunks], Chunks]) -> Chunks:
    """A stream of chat chunks through `chat`, anything else (Responses events, completions chunks) `native`, told by
    the first chunk that shows its shape (those before it go the same way)."""
    leading: list[dict[str, Any]] = []
    shaped: bool | None = None
    async for chunk in chunks:
        leading.append(chunk)
        shaped = _chat_shaped(chunk)
        if shaped is not None:
            break
    async for chunk in (chat if shaped else native)(_prepend(leading, chunks)):
        yield chunk


async def _prepend(first: list[dict[str, Any]], rest: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for chunk in first:
        yield chunk
    async for chunk in rest:
        yield chunk


def _asks_json(body: dict[str, Any]) -> bool:
    """Whether the answer was asked for as JSON (chat's `response_format`, the Responses API's `text.format`): its
    text is a JSON document, and a value restored inside one of its strings must be escaped as one."""
    text = body.get("text")
    asked = body.get("response_format") or (text.get("format") if isinstance(text, dict) else None)
    return isinstance(asked, dict) and asked.get("type") in ("json_object", "json_schema")


def _restore_completion(reply: Completed, mapping: Mapping[str, str], json_answer: bool) -> None:
    for choice in reply.body.get("choices") or []:
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        for field in _TEXTS:
            if isinstance(message.get(field), str):
                message[field] = restore(message[field], mapping, json_escape=json_answer and field == "content")
        functions = [call.get("function") for call in message.get("tool_calls") or [] if isinstance(call, dict)]
        for function in [*functions, message.get("function_call")]:
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                function["arguments"] = restore(function["arguments"], mapping, json_escape=True)


class _Transform(Protocol):
    def feed(self, delta: str) -> str: ...

    def flush(self) -> str: ...


class _Channel(Protocol):
    async def feed(self, delta: str) -> str: ...

    async def flush(self) -> str: ...


class _OnLoop:
    """A cheap transform (placeholder restore: string scans) run on the event loop."""

    def __init__(self, transform: _Transform) -> None:
        self._transform = transform

    async def feed(self, delta: str) -> str:
        return self._transform.feed(delta)

    async def flush(self) -> str:
        return self._transform.flush()


class _OffLoop:
    """A stream scrubber whose analyses run in the PII executor: the event loop only appends text."""

    def __init__(self, scrubber: StreamScrubber, executor: Executor) -> None:
        self._scrubber = scrubber
        self._executor = executor

    async def feed(self, delta: str) -> str:
        if not self._scrubber.analyses(delta):
            return self._scrubber.feed(delta)
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._scrubber.feed, delta)

    async def flush(self) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._scrubber.flush)


# A choice's text channels: each text field's (in the order a stream writes them: the reasoning first), a legacy
# function call's arguments, and each tool call's arguments by the call's number (`ToolCalls`), from 0.
_TEXTS = (*REASONING, "refusal", "content")
_KEY_OF = {field: -1 - i for i, field in enumerate(_TEXTS)}
_FIELD_OF = {key: field for field, key in _KEY_OF.items()}
FUNCTION_CALL = -1 - len(_TEXTS)


def _kind(key: int) -> TextKind:
    return "arguments" if key >= 0 or key == FUNCTION_CALL else "answer" if key == _KEY_OF["content"] else "text"


class _ChoiceChannels:
    """One choice's text channels, and which of them it is writing."""

    def __init__(self, make: Callable[[TextKind], _Channel]) -> None:
        self._make = make
        self._channels: dict[int, _Channel] = {}
        self._calls = ToolCalls()
        self._index_of: dict[int, int] = {}  # a tool call's number -> the index its deltas carry
        self._writing: int | None = None

    def call_number(self, call: dict[str, Any]) -> int:
        index = int(call.get("index") or 0)
        number = self._calls.number(index, call.get("id"))
        self._index_of.setdefault(number, index)
        return number

    async def feed(self, key: int, text: str) -> str:
        if key not in self._channels:
            self._channels[key] = self._make(_kind(key))
        return await self._channels[key].feed(text)

    async def move_to(self, key: int) -> dict[str, Any] | None:
        """Start writing `key`'s channel; a delta with what the channel written so far held back, to go before."""
        left, self._writing = self._writing, key
        if left is None or left == key or left not in self._channels:
            return None
        held = await self._channels[left].flush()
        return self.piece(left, held) if held else None

    async def flush(self) -> list[dict[str, Any]]:
        """Deltas with what every channel holds back (at the end of the choice)."""
        return [self.piece(key, text) for key, channel in self._channels.items() if (text := await channel.flush())]

    def piece(self, key: int, text: str) -> dict[str, Any]:
        if key in _FIELD_OF:
            return {_FIELD_OF[key]: text}
        if key == FUNCTION_CALL:
            return {"function_call": {"arguments": text}}
        return {"tool_calls": [{"index": self._index_of[key], "function": {"arguments": text}}]}


def _add(delta: dict[str, Any], piece: dict[str, Any]) -> None:
    """Append a held-back `piece` to `delta`: after its field's text, or as a tool call delta after its others."""
    if "tool_calls" in piece:
        delta.setdefault("tool_calls", []).extend(piece["tool_calls"])
    elif "function_call" in piece:
        function = delta.setdefault("function_call", {})
        function["arguments"] = (function.get("arguments") or "") + piece["function_call"]["arguments"]
    else:
        ((field, text),) = piece.items()
        delta[field] = (delta.get(field) or "") + text


def _envelope(chunk: dict[str, Any], index: int, delta: dict[str, Any]) -> dict[str, Any]:
    """A chunk like `chunk` (its id, model...) carrying only `delta` for choice `index`."""
    kept = {key: value for key, value in chunk.items() if key not in ("choices", "usage")}
    return {**kept, "choices": [{"index": index, "delta": delta, "finish_reason": None}]}


async def _transform_stream(chunks: Chunks, make: Callable[[TextKind], _Channel]) -> Chunks:
    """Rewrite each text channel of a stream (a choice's content, reasoning and refusal, a function call's or each
    tool call's arguments) through a `_Channel` made by `make(kind of text)`. A channel may hold text back (a value
    cut between chunks); what it holds comes out before the choice goes on to another channel (its reasoning before
    the text that follows, its text before the tool call, one call's arguments before the next call's) and with the
    finish chunk, so the answer keeps its order. Tool calls are told apart as `ToolCalls` numbers them (parallel
    calls may all be at index 0). A chunk none of whose texts changed keeps its bytes as received (`Chunk.raw`): only
    the others are encoded again."""
    choices: dict[int, _ChoiceChannels] = {}
    last: dict[str, Any] | None = None
    async for chunk in chunks:
        last = chunk
        changed = False
        for choice in chunk.get("choices") or []:
            index = int(choice.get("index") or 0)
            channels = choices.setdefault(index, _ChoiceChannels(make))
            found = choice.get("delta")
            delta = found if found is not None else {}
            # fields with text: an empty one ("content": "" beside each piece of reasoning, as some servers send) is no
            # turn to another channel, which would hand over what the reasoning's holds back
            texts = [field for field in _TEXTS if isinstance(delta.get(field), str) and delta[field]]
            function = delta.get("function_call")
            arguments = function.get("arguments") if isinstance(function, dict) else None
            calls = delta.get("tool_calls") or []
            numbers = [channels.call_number(call) for call in calls]
            keys = [_KEY_OF[field] for field in texts]
            keys += [FUNCTION_CALL] if isinstance(arguments, str) and arguments else []
            first = keys[0] if keys else numbers[0] if numbers else None
            if first is not None and (held := await channels.move_to(first)):
                yield _envelope(chunk, index, held)
            for field in texts:
                if (held := await channels.move_to(_KEY_OF[field])) is not None:
                    _add(delta, held)  # an earlier field's of this delta
                    changed = True
                text = delta[field]
                delta[field] = await channels.feed(_KEY_OF[field], text)
                changed = changed or delta[field] != text
            if isinstance(function, dict) and isinstance(arguments, str):
                if (held := await channels.move_to(FUNCTION_CALL)) is not None:
                    _add(delta, held)
                    changed = True
                function["arguments"] = await channels.feed(FUNCTION_CALL, arguments)
                changed = changed or function["arguments"] != arguments
            written: list[dict[str, Any]] = []
            for call, number in zip(calls, numbers, strict=True):
                if (held := await channels.move_to(number)) is not None:
                    if "tool_calls" in held:
                        written += held["tool_calls"]
                    else:
                        _add(delta, held)
                    changed = True
                function = call.get("function") or {}
                arguments = function.get("arguments")
                if isinstance(arguments, str):
                    function["arguments"] = await channels.feed(number, arguments)
                    changed = changed or function["arguments"] != arguments
                written.append(call)
            if calls:
                delta["tool_calls"] = written
            if choice.get("finish_reason"):
                for piece in await channels.flush():
                    _add(delta, piece)
                    changed = True
                if found is None:
                    choice["delta"] = delta
                    changed = True
        if changed and type(chunk) is Chunk:
            chunk.raw = None  # its bytes no longer say what it does
        yield chunk
    if last is not None:  # the stream ended without a finish_reason chunk: hand over what was held back
        for index, channels in choices.items():
            for piece in await channels.flush():
                yield _envelope(last, index, piece)

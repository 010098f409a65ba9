"""Every string of a request body that an upstream provider would see, keys included, as `Field`s.

Deny by default: the walk visits every string value and every object key of the body, whatever the
field (messages and their `name`, `user`, `metadata`, tools and their JSON schemas, `response_format`,
`stop`, `prediction`, image and file URLs, fields Helix has never heard of). Only the top-level
`model` is left out: it is resolved to a provider before any stage runs, and so are strings that are
exactly a word of the APIs' own vocabulary (`api_words.py`: keys such as `messages` and `role`, values
such as `user` and `auto`) outside message text. The Anthropic provider builds its request from this
same body after redaction, so what it sends is covered too.

- Base64 payloads (data URLs, `file_data`, long bare base64 strings) are decoded: a text payload is
  checked as text and re-encoded after redaction; a binary one is checked by the text it can carry
  (`binary.py`: image and audio metadata, the text of ZIP-based documents) and cannot be rewritten,
  so PII in it refuses the request (`BinaryWithPii`); one whose text cannot be read (a PDF, an
  unknown format) is refused too (`UnverifiableInput`) unless `unreadable = "pass"`.
- Identifier-shaped values (`name`, `id`, `tool_call_id`, object keys) stay identifier-shaped after
  redaction (`<EMAIL_ADDRESS_1>` becomes `EMAIL_ADDRESS_1`): providers reject anything else.
- Numbers are values too (a card or a phone number in a tool's input, sent as a JSON number): those long enough to be
  someone's, and positions to four decimals, are checked as their digits and replaced by the placeholder's text.
- Token-id inputs (`input: [[1, 2, 3]]`, as LangChain sends to embeddings by default) cannot be
  checked without the provider's tokenizer: `UnverifiableInput` is raised and the request refused.
- Answers (`answer=True`) skip binary payloads: audio or images a model generated carry no metadata
  of the user's.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from helix.pii.api_words import API_WORDS
from helix.pii.binary import Budget, Unreadable, contents, kind_of, unreadable_format
from helix.pii.canonical import as_text, base64_bytes

_IDENT = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NOT_IDENT = re.compile(r"[^A-Za-z0-9_-]")
_IDENT_KEYS = frozenset({"name", "id", "tool_call_id", "call_id", "tool_use_id"})
_CONVERSATION_KEYS = frozenset({"content", "text", "refusal", "arguments", "output"})
_BARE_BASE64 = re.compile(r"[A-Za-z0-9+/\r\n]+={0,2}")
_BARE_BASE64_MIN = 256
_PAYLOAD_KEYS = frozenset({"file_data", "data"})
# Binary blobs a provider issued and only it can read (Responses reasoning items, Anthropic thinking
# signatures): sent back as they came. Text hidden in them is still decoded and checked.
_OPAQUE_KEYS = frozenset({"encrypted_content", "signature"})
_PAIR_NAMES = ("name", "Name", "key", "Key")
_PAIR_VALUES = frozenset({"value", "Value"})
_CONTEXT_CHARS = 100
_DATA_URL = re.compile(r"(data:[^,;]{0,200}(?:;[^,;=]{1,100}=[^,;]{0,100})*;base64,)(.*)", re.DOTALL)


class UnverifiableInput(ValueError):
    """Input the firewall cannot read (token ids, a PDF): the request must not be forwarded unchecked."""

    def __init__(self, param: str, what: str) -> None:
        super().__init__(f"'{param}' is {what}")
        self.param = param
        self.what = what


class BinaryWithPii(ValueError):
    """PII in the text a binary payload carries: it cannot be removed from the file."""

    def __init__(self, param: str, kind: str) -> None:
        super().__init__(f"'{param}' ({kind})")
        self.param = param
        self.kind = kind


Steps = tuple[str | int, ...]


@dataclass(slots=True)
class Field:
    text: str
    steps: Steps  # where in the body: keys and list indexes
    conversation: bool  # message text, tool arguments, embeddings inputs: seams between them are checked
    ident: bool  # the provider expects [A-Za-z0-9_-]: the replacement must stay that way
    is_key: bool
    write: Callable[[str], None]
    context: str = ""  # what names a value outside message text (`_context`): read before it, never redacted

    @property
    def path(self) -> str:
        """`messages[0].content`, with `#key` for an object key: spelled out only when asked for (rarely)."""
        return _dotted(self.steps) + ("#key" if self.is_key else "")


def walk(body: dict[str, Any], *, unreadable: str = "refuse", answer: bool = False) -> list[Field]:
    """Every provider-visible string of `body`, in document order. `unreadable`: "refuse" (raise
    `UnverifiableInput`) or "pass" binary payloads whose text cannot be read."""
    for key in ("input", "prompt"):
        if _has_token_ids(body.get(key)):
            raise UnverifiableInput(key, "given as token ids")
    fields: list[Field] = []
    _walk(body, (), _Binary(unreadable == "pass", answer, Budget()), fields)
    return fields


@dataclass(frozen=True, slots=True)
class _Binary:
    pass_unreadable: bool
    skip: bool
    inflation: Budget  # what the request's files may inflate to, in all


def write_back(fields: Sequence[Field], texts: Sequence[str]) -> None:
    """Put redacted texts back; object keys last, so values are written under their old keys first."""
    pairs = list(zip(fields, texts, strict=True))
    for f, text in pairs:
        if not f.is_key and text != f.text:
            f.write(_ident_safe(text) if f.ident else text)
    for f, text in pairs:
        if f.is_key and text != f.text:
            f.write(_ident_safe(text) if f.ident else text)


def _ident_safe(text: str) -> str:
    return _NOT_IDENT.sub("", text)[:64] or "redacted"


def _has_token_ids(value: Any) -> bool:
    if isinstance(value, list):
        return any(isinstance(item, int) or _has_token_ids(item) for item in value)
    return False


def _walk(value: Any, path: Steps, binary: _Binary, out: list[Field]) -> None:
    # Appends to `out` rather than yielding: a generator per level costs each field a hop per level.
    if isinstance(value, dict):
        for key, item in list(value.items()):
            if not path and key == "model":
                continue
            child = (*path, key)
            if key not in API_WORDS:
                out.append(_key_field(value, key, child))
            if isinstance(item, str):
                _string(value, key, child, binary, out)
            elif isinstance(item, int | float):
                # the top level's numbers are the API's settings (max_tokens, temperature, seed) and providers' own,
                # other fields' are not ("customer_card": 4539148803436467 was sent as it came: faults round 23)
                if path or (key not in API_WORDS and key not in _PROVIDER_SETTINGS):
                    _number(value, key, child, out)
            else:
                _walk(item, child, binary, out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            child = (*path, i)
            if isinstance(item, str):
                _string(value, i, child, binary, out)
            elif isinstance(item, int | float):
                _number(value, i, child, out)
            else:
                _walk(item, child, binary, out)


# Numeric settings some providers take at the top level besides OpenAI's and Anthropic's (Mistral's random_seed, vLLM's
# and OpenRouter's sampling, Ollama's): a seed written as placeholder text would make the provider refuse the request.
_PROVIDER_SETTINGS = frozenset(
    (
        *("random_seed", "best_of", "min_p", "top_a", "repetition_penalty", "typical_p", "min_tokens"),
        *("max_tool_calls", "max_tokens_to_sample", "length_penalty", "num_ctx", "num_predict", "mirostat_tau"),
    )
)
_SHORTEST_PERSONAL_NUMBER = 100_000  # six digits: below any card, phone, identity or account number
_POSITION_DECIMALS = 4  # a latitude or a longitude to ten metres


def _number(container: Any, key: str | int, path: Steps, out: list[Field]) -> None:
    """A JSON number long enough to be someone's (a card, a phone, an identity number in a tool's input, metadata or a
    schema's default), or a position to four decimals under a key ("lat": 51.50741): checked as its digits, with its
    key read before it as a string's is, and replaced by the placeholder's text. A list of decimals is data."""
    number = container[key]
    if isinstance(number, bool):
        return
    if isinstance(number, int):
        if -_SHORTEST_PERSONAL_NUMBER < number < _SHORTEST_PERSONAL_NUMBER:
            return
        text = str(number)
    elif number.is_integer() and abs(number) >= _SHORTEST_PERSONAL_NUMBER:
        # a long integer written as a float (Python's and pandas' float64, 4539148803436467.0 or 4.539148803436467e15):
        # its digits, as an int's (faults round 23)
        text = str(int(number))
    else:
        text = repr(number)
        if isinstance(key, int) or len(text.partition(".")[2]) < _POSITION_DECIMALS or "e" in text:
            return

    def assign(new: str) -> None:
        container[key] = new

    out.append(Field(text, path, False, False, False, assign, _context(container, path)))


def _key_field(container: dict[str, Any], key: str, path: Steps) -> Field:
    def rename(new: str) -> None:
        items = list(container.items())
        taken = set(container) - {key}
        unique, n = new, 1
        while unique in taken:
            n += 1
            unique = f"{new}_{n}"
        container.clear()
        container.update((unique if k == key else k, v) for k, v in items)

    return Field(key, path, False, bool(_IDENT.fullmatch(key)), True, rename)


def _string(container: Any, key: str | int, path: Steps, binary: _Binary, out: list[Field]) -> None:
    text: str = container[key]
    conversation = _is_conversation(path)
    if text in API_WORDS and not conversation:
        return

    def assign(new: str) -> None:
        container[key] = new

    context = "" if conversation else _context(container, path)
    keyed = path[-1] in _PAYLOAD_KEYS
    payload = _base64_payload(text, keyed)
    raw = base64_bytes(payload[1]) if payload is not None else None
    # A long run of letters and digits in a message ("wwww...", a hash) may decode as base64 too:
    # outside data URLs and payload keys, bytes of no known file format are text as written.
    if raw is not None and not (keyed or text.startswith("data:")) and as_text(raw) is None and not kind_of(raw):
        raw = None
    if payload is not None and raw is not None:
        prefix = payload[0]
        as_binary = not binary.skip and path[-1] not in _OPAQUE_KEYS
        decoded = as_text(raw)
        if decoded is not None and as_binary and not binary.pass_unreadable and unreadable_format(raw):
            # an all-ASCII PDF decodes as text, yet its strings may be written in hex or glyph codes: a PDF all the
            # same (with unreadable files passed, its text is still redacted as far as it reads)
            decoded = None
        if decoded is not None:

            def reencode(new: str) -> None:
                container[key] = prefix + base64.b64encode(new.encode()).decode()

            out.append(Field(decoded, path, False, False, False, reencode, context))
        elif as_binary:
            _binary(raw, path, binary, out, context)
        return
    out.append(Field(text, path, conversation, path[-1] in _IDENT_KEYS, False, assign, context))


def _binary(raw: bytes, path: Steps, binary: _Binary, out: list[Field], context: str) -> None:
    where = _dotted(path)
    try:
        found = contents(raw, binary.inflation)
    except Unreadable as exc:
        if binary.pass_unreadable:
            return
        raise UnverifiableInput(where, f"a {exc}") from None

    def refuse(_new: str) -> None:
        raise BinaryWithPii(where, found.kind)

    if found.text:
        out.append(Field(found.text, path, False, False, False, refuse, context))


def _context(container: Any, path: Steps) -> str:
    """What names a value outside message text, read before it as the word a value has in prose: the key it is
    under (`db_password` for `{"db_password": "..."}`; for a list's items the list's, in the singular), or the
    name beside it in a name/value pair (`{"name": "DB_PASSWORD", "value": "..."}`, as environment variables and
    headers are listed). None of the API's own keys (`description`, `required`), whose values need no hint."""
    if path[-1] in _PAIR_VALUES and isinstance(container, dict):
        name = next((container[k] for k in _PAIR_NAMES if isinstance(container.get(k), str)), None)
        if name is not None:
            return name[:_CONTEXT_CHARS]
    at = next((i for i in range(len(path) - 1, -1, -1) if isinstance(path[i], str)), None)
    if at is None or path[at] in API_WORDS:
        return ""
    key = str(path[at])[:_CONTEXT_CHARS]
    # An item of `api_keys` is read as an `api_key`: recognizers know their words in the singular.
    return key[:-1] if at < len(path) - 1 and key.endswith("s") and not key.endswith("ss") else key


def _base64_payload(text: str, payload_key: bool) -> tuple[str, str] | None:
    """(prefix, payload) of a data URL, a bare base64 string under a payload key (`file_data`,
    `data`) or a long one anywhere; None for anything else."""
    if text.startswith("data:"):
        match = _DATA_URL.match(text)
        return (match.group(1), match.group(2)) if match else None
    keyed = payload_key and len(text) >= 24 and len(text) % 4 == 0  # padded, as clients encode files
    if (keyed or len(text) >= _BARE_BASE64_MIN) and _BARE_BASE64.fullmatch(text):
        return "", text
    return None


def _is_conversation(path: Steps) -> bool:
    if not path or path[0] not in ("messages", "input", "prompt"):
        return False
    last = path[-1]
    if path[0] != "messages" and not any(isinstance(step, str) for step in path[1:]):
        return True  # the input itself, or a list of inputs (embeddings, completions)
    # in items (a Responses input's messages and tool outputs), as in messages: their text, not their type or role (an
    # email at a text's start joined to the part's "input_text" before it and took the type with it)
    return last in _CONVERSATION_KEYS or (isinstance(last, int) and path[-2] == "content")


def _dotted(path: Steps) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")

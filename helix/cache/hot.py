"""The hottest exact-cache entries in memory, in front of the SQLite file, bounded by bytes.

A repeated request is answered without a read of the file and without re-encoding its answer: each
entry keeps its answer's JSON split around the two fields every hit rewrites (`id`, `created`), so
an answer's bytes are three slices and two small strings joined.

Kept consistent with the file by the response cache: an entry leaves when it expires (checked on every
read), when a newer answer for the same request is saved, when eviction deletes its row, and when the
cache is cleared (at once in this process; within a poll for a clear by another process).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import msgspec

from helix.cache.entries import Entry

_encode = msgspec.json.encode
_decode = msgspec.json.decode
# Stand-ins for the per-hit fields while the template is encoded: strings no answer's JSON holds elsewhere.
_ID_MARK = "\x00helix-id\x00"
_CREATED_MARK = "\x00helix-created\x00"
_ID_BYTES = _encode(_ID_MARK)
_CREATED_BYTES = _encode(_CREATED_MARK)
_OVERHEAD_BYTES = 200  # the entry's own objects, roughly


@dataclass(frozen=True, slots=True)
class Answer:
    """A cached chat completion, ready to be served again with a new id and creation time."""

    entry: Entry
    parts: tuple[bytes, bytes, bytes] | None  # the JSON before `id`, between `id` and `created`, after

    @classmethod
    def of(cls, entry: Entry) -> Answer:
        return cls(entry, _split(entry.response))

    def body(self, answer_id: str, created: int) -> tuple[dict[str, Any], bytes]:
        """The answer as an object (for the stages) and as the bytes a client receives."""
        body: dict[str, Any] = _decode(self.entry.response)
        body["id"] = answer_id
        body["created"] = created
        if self.parts is None:
            return body, _encode(body)
        head, middle, tail = self.parts
        return body, b"".join((head, _encode(answer_id), middle, str(created).encode(), tail))

    @property
    def size(self) -> int:
        return 2 * len(self.entry.response) + _OVERHEAD_BYTES


def _split(response: bytes) -> tuple[bytes, bytes, bytes] | None:
    """The answer's JSON with `id` and `created` cut out (None: not an object with both in that order)."""
    try:
        body = _decode(response)
    except msgspec.DecodeError:
        return None
    if not isinstance(body, dict) or "id" not in body or "created" not in body:
        return None
    keys = list(body)
    if keys.index("id") > keys.index("created"):
        return None
    body["id"], body["created"] = _ID_MARK, _CREATED_MARK
    encoded = _encode(body)
    if encoded.count(_ID_BYTES) != 1 or encoded.count(_CREATED_BYTES) != 1:
        return None  # the answer's own text holds a stand-in: encode it on every hit instead
    head, _, rest = encoded.partition(_ID_BYTES)
    middle, _, tail = rest.partition(_CREATED_BYTES)
    return head, middle, tail


class HotEntries:
    """Least recently used answers by exact key, at most `max_bytes` of them."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[bytes, Answer] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes held, roughly."""
        return self._bytes

    def get(self, key: bytes, now: float) -> Answer | None:
        answer = self._entries.get(key)
        if answer is None:
            return None
        if answer.entry.expires <= now:
            self.drop(key)
            return None
        self._entries.move_to_end(key)
        return answer

    def put(self, key: bytes, entry: Entry) -> Answer:
        answer = Answer.of(entry)
        self.drop(key)
        if answer.size > self._max_bytes:
            return answer  # served this once, never kept
        self._entries[key] = answer
        self._bytes += answer.size
        self._shrink()
        return answer

    def resize(self, max_bytes: int) -> None:
        """Hold at most `max_bytes` from now on (a reload), the least recently used forgotten first."""
        self._max_bytes = max_bytes
        self._shrink()

    def _shrink(self) -> None:
        while self._bytes > self._max_bytes:
            _, oldest = self._entries.popitem(last=False)
            self._bytes -= oldest.size

    def drop(self, key: bytes) -> None:
        answer = self._entries.pop(key, None)
        if answer is not None:
            self._bytes -= answer.size

    def drop_ids(self, ids: set[int]) -> None:
        """Forget the entries whose rows were deleted (eviction)."""
        if not ids:
            return
        for key in [k for k, a in self._entries.items() if a.entry.id in ids]:
            self.drop(key)

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

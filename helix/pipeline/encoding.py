"""A request body sent compressed (`Content-Encoding: gzip` or `deflate`), decompressed within the body cap.

What a client may compress its body with, as other gateways and OpenAI's own API accept it: gzip (also named
`x-gzip`) and deflate (zlib's format, or raw deflate as some clients send it), each also listed in the order they
were applied (`gzip, identity`). The decompressed body is held to `[server] max_body_mb` like a plain one, so a
small body that would inflate to gigabytes (a zip bomb) is a 413 after at most that many bytes. Any other
encoding is a 415, a body that does not decompress a 400.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

from helix.errors import InvalidRequest, body_too_large

_GZIP = 16 + zlib.MAX_WBITS
_ZLIB = zlib.MAX_WBITS
_RAW = -zlib.MAX_WBITS
_FORMATS: dict[str, tuple[int, ...]] = {"gzip": (_GZIP,), "x-gzip": (_GZIP,), "deflate": (_ZLIB, _RAW)}
_MAX_LAYERS = 2  # `gzip, gzip` is legal; more is no client's doing


class UnsupportedEncoding(InvalidRequest):
    status = 415
    code = "unsupported_content_encoding"


def decoded_body(raw: bytes, headers: Mapping[str, str], limit: int) -> bytes:
    """`raw` with the request's Content-Encoding undone (last applied, first undone), at most `limit` bytes."""
    declared = headers.get("content-encoding")
    if not declared:  # nearly every request: nothing to do on the hot path
        return raw
    encodings = [name for part in declared.split(",") if (name := part.strip().lower()) not in ("", "identity")]
    if not encodings:
        return raw
    unknown = [name for name in encodings if name not in _FORMATS]
    if unknown or len(encodings) > _MAX_LAYERS:
        raise UnsupportedEncoding(
            f"Content-Encoding '{declared[:64]}' is not supported: send the body as is, or compressed with gzip or"
            " deflate",
            param="Content-Encoding",
        )
    for name in reversed(encodings):
        raw = _inflate(raw, _FORMATS[name], limit, name)
    return raw


def _inflate(data: bytes, formats: tuple[int, ...], limit: int, name: str) -> bytes:
    for wbits in formats:
        try:
            return _inflate_as(data, wbits, limit)
        except zlib.error:
            continue
    raise InvalidRequest(
        f"the request body is not valid {name} data, as its Content-Encoding says it is",
        param="Content-Encoding",
        code="invalid_content_encoding",
    )


def _inflate_as(data: bytes, wbits: int, limit: int) -> bytes:
    """`data` inflated (every gzip member of it), never past `limit` bytes: a 413 first."""
    out: list[bytes] = []
    size = 0
    while data:
        inflater = zlib.decompressobj(wbits)
        piece = inflater.decompress(data, limit + 1 - size)
        size += len(piece)
        if size > limit or inflater.unconsumed_tail:
            raise body_too_large(" once decompressed")
        if not inflater.eof:
            raise zlib.error("the compressed data ends early")
        out.append(piece)
        data = inflater.unused_data if wbits == _GZIP else b""
    return b"".join(out)

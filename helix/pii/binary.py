"""Binary payloads (base64 images, audio, files) and the text they can carry.

The rule: a binary payload reaches a provider only when every piece of text it can carry has been
checked and is clean.
- Images and audio (PNG, JPEG, GIF, WebP, BMP, TIFF, WAV, MP3, Ogg, FLAC, MP4/M4A, WebM): pixels
  and samples hold no machine-readable text, but metadata does (EXIF and XMP, PNG text chunks,
  ID3 tags, comments), and it is stored as plain bytes. The text-like runs of printable characters
  are checked (`embedded_text`).
- ZIP-based documents (docx, xlsx, pptx, odt, ...): every member is inflated (up to
  `MAX_INFLATED` bytes in all) and its text, XML tags removed, is checked.
- Anything else (PDF, whose text is compressed and often glyph-encoded; gzip; formats Helix does
  not know) cannot be read, so it is refused while the firewall is on (`Unreadable`), unless
  `[pii] unreadable_files = "pass"`.
A binary payload cannot be rewritten, so PII found in its text refuses the request too.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass

import regex

from helix.pii.scrub import quoted, scrub_client_text

MAX_INFLATED = 32 * 1024 * 1024
_MIN_RUN = 8
# Printable runs (ASCII or UTF-8 letters); "text-like" ones, not the noise compressed data makes.
_RUN = regex.compile(rb"[\x20-\x7e\t]{8,}")
_PNG = b"\x89PNG\r\n\x1a\n"
_UTF8_RUN = regex.compile(r"[\p{L}\p{N}\p{P}\p{Zs}\p{S}]{8,}")
_TEXTISH = regex.compile(r"[\p{L}\p{N}\s@.,:;_+/'()-]")
# ... and in UTF-16, as ID3 tags (COMM, TXXX), Windows' and EXIF's XP fields store text: every other byte zero.
_UTF16LE_RUN = regex.compile(rb"(?:[\x20-\x7e]\x00){8,}")
_UTF16BE_RUN = regex.compile(rb"(?:\x00[\x20-\x7e]){8,}")
_MAX_NESTING = 3  # a document inside a document (a chart's workbook in a docx), and no deeper
_TAG = regex.compile(r"<[^>]{0,2000}>")

_MEDIA: tuple[tuple[bytes, int, str], ...] = (
    (_PNG, 0, "PNG image"),
    (b"\xff\xd8\xff", 0, "JPEG image"),
    (b"GIF87a", 0, "GIF image"),
    (b"GIF89a", 0, "GIF image"),
    (b"BM", 0, "BMP image"),
    (b"II*\x00", 0, "TIFF image"),
    (b"MM\x00*", 0, "TIFF image"),
    (b"ID3", 0, "MP3 audio"),
    (b"\xff\xfb", 0, "MP3 audio"),
    (b"\xff\xf3", 0, "MP3 audio"),
    (b"\xff\xf2", 0, "MP3 audio"),
    (b"OggS", 0, "Ogg audio"),
    (b"fLaC", 0, "FLAC audio"),
    (b"ftyp", 4, "MP4 media"),
    (b"\x1a\x45\xdf\xa3", 0, "WebM media"),
)
_RIFF = {b"WEBP": "WebP image", b"WAVE": "WAV audio", b"AVI ": "AVI video"}
_UNREADABLE = ((b"%PDF", "PDF document"), (b"\x1f\x8b", "gzip file"), (b"7z\xbc\xaf", "7z archive"))


class Unreadable(ValueError):
    """A binary payload whose text cannot be checked; `str()` names what it is."""


class Budget:
    """The bytes a request's files may inflate to, in all (ZIP members, a PNG's compressed text, documents inside
    documents): a few KB of compressed text can stand for gigabytes, and a document can hold hundreds of images."""

    __slots__ = ("left",)

    def __init__(self, limit: int = MAX_INFLATED) -> None:
        self.left = limit

    def take(self, size: int, what: str) -> None:
        self.left -= size
        if self.left < 0:
            raise Unreadable(f"{what} of more than {MAX_INFLATED // 2**20} MB inflated (with the request's others)")


@dataclass(frozen=True, slots=True)
class Contents:
    kind: str  # "PNG image", "ZIP document", ...
    text: str  # the text it carries, for detection ("" when none)


def kind_of(raw: bytes) -> str | None:
    """What a binary payload is, by its first bytes; None for formats Helix does not know."""
    for magic, offset, kind in _MEDIA:
        if raw[offset : offset + len(magic)] == magic:
            return kind
    if raw[:4] == b"RIFF" and raw[8:12] in _RIFF:
        return _RIFF[raw[8:12]]
    if raw[:4] == b"PK\x03\x04":
        return "ZIP document"
    for magic, kind in _UNREADABLE:
        if raw.startswith(magic):
            return kind
    return None


def unreadable_format(raw: bytes) -> bool:
    """`raw` starts as a format Helix cannot read does (a PDF), even if its bytes also decode as text."""
    return any(raw.startswith(magic) for magic, _ in _UNREADABLE)


def contents(raw: bytes, budget: Budget | None = None) -> Contents:
    """The text a binary payload carries; raises `Unreadable` when it may carry text Helix cannot read (or more than
    `budget`, the request's, inflated)."""
    kind = kind_of(raw)
    if kind is None or any(kind == k for _, k in _UNREADABLE):
        raise Unreadable(kind or "binary data of an unknown format")
    budget = budget or Budget()
    if kind == "ZIP document":
        return Contents(kind, _zip_text(raw, _MAX_NESTING, budget))
    return Contents(kind, embedded_text(raw, budget))


def embedded_text(raw: bytes, budget: Budget | None = None) -> str:
    """The text-like printable runs of `raw` (metadata stored as plain bytes), one per line."""
    runs = [m.group().decode("ascii") for m in _RUN.finditer(raw)]
    utf8 = raw.decode("utf-8", errors="replace")
    runs += [m.group() for m in _UTF8_RUN.finditer(utf8) if not m.group().isascii()]
    runs += [m.group().decode("utf-16-le") for m in _UTF16LE_RUN.finditer(raw)]
    runs += [m.group().decode("utf-16-be") for m in _UTF16BE_RUN.finditer(raw)]
    chunks = _png_texts(raw, budget or Budget()) if raw.startswith(_PNG) else []
    return "\n".join([*(r for r in runs if _text_like(r)), *chunks])


def _png_texts(raw: bytes, budget: Budget) -> list[str]:
    """A PNG's text chunks, each read whole: tEXt as it is, zTXt and compressed iTXt inflated (their text is not in
    the file's bytes), so a value that ends a chunk is not glued to the checksum after it."""
    texts: list[str] = []
    at = len(_PNG)
    while at + 12 <= len(raw):
        size, kind = int.from_bytes(raw[at : at + 4], "big"), raw[at + 4 : at + 8]
        data = raw[at + 8 : at + 8 + size]
        at += 12 + size
        if kind == b"tEXt":
            texts.append(data.replace(b"\x00", b": ").decode("latin-1"))
        elif kind in (b"zTXt", b"iTXt"):
            keyword, _, rest = data.partition(b"\x00")
            if kind == b"zTXt":
                compressed, body = True, rest[1:]
            else:  # compression flag and method, language, translated keyword, then the text
                compressed = rest[:1] == b"\x01"
                body = rest[2:].split(b"\x00", 2)[-1]
            try:
                text = zlib.decompressobj().decompress(body, max(1, budget.left + 1)) if compressed else body
            except zlib.error as exc:
                raise Unreadable(f"PNG image whose text does not inflate ({exc})") from None
            if compressed:
                budget.take(len(text), "PNG image")
            texts.append(keyword.decode("latin-1") + ": " + text.decode("utf-8", errors="replace"))
        elif kind == b"IEND":
            break
    return texts


def _text_like(run: str) -> bool:
    # Compressed pixels make printable noise ("k3#Lp]x~"); text has words: mostly letters, digits,
    # spaces and the punctuation of addresses, with a space or an @ somewhere.
    if len(run) < _MIN_RUN or not (" " in run or "@" in run):
        return False
    return len(_TEXTISH.findall(run)) >= 0.9 * len(run)


def _zip_text(raw: bytes, depth: int, budget: Budget) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise Unreadable(f"ZIP document that does not open ({scrub_client_text(str(exc), 100)})") from None
    budget.take(sum(m.file_size for m in members), "ZIP document")
    texts: list[str] = []
    for member in members:
        if member.is_dir():
            continue
        try:
            data = archive.read(member)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error, EOFError, OSError) as exc:
            # encrypted, an odd compression, corrupt data
            # the member's name is the client's (so may be long, or hold an email); so may the error's words
            problem = scrub_client_text(str(exc), 100)
            raise Unreadable(f"ZIP document whose member {quoted(member.filename)} does not open ({problem})") from None
        if data.startswith(b"PK\x03\x04"):  # a document inside (a chart's workbook in a docx)
            if depth <= 1:
                raise Unreadable("ZIP document nested deeper than Helix reads")
            texts += [_zip_text(data, depth - 1, budget), member.filename]
            continue
        try:
            xml = data.decode("utf-8")
        except UnicodeDecodeError:
            texts.append(embedded_text(data, budget))  # an embedded image
        else:
            # Tags removed, and as spaces: one word can be split over runs (`<w:t>ann</w:t>...<w:t>@x.io`).
            texts += [_TAG.sub("", xml), _TAG.sub(" ", xml)]
        texts.append(member.filename)
    return "\n".join(texts)

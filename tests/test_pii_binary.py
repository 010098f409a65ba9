"""Binary payloads through the real server: text files are redacted, images, audio and documents are
checked by the text they carry, and files whose text cannot be read are refused (helix/pii/binary.py).
What the provider saw is the fake upstream's record; the SQLite file (WAL included) is scanned too."""

from __future__ import annotations

import base64
import io
import struct
import wave
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helix.pii.analyzer import PiiEngine
from helix.pii.binary import MAX_INFLATED, Unreadable, contents, embedded_text, kind_of
from helix.pii.config import PiiConfig
from helix.pii.redact import Redactor, redact_body
from helix.pii.walk import UnverifiableInput, walk
from tests.conftest import Helix, start_helix
from tests.fake_upstream import FakeState, ServerThread
from tests.test_pii_proxy import file_bytes
from tests.test_pii_side_doors import _seen


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(text: str | None = None, kind: bytes = b"tEXt") -> bytes:
    """A real 16x16 RGB PNG of noisy pixels, with a text chunk when `text` is given: tEXt, or zTXt / iTXt compressed."""
    rows = b"".join(b"\x00" + bytes((x * 37 + y * 101 + x * y) % 256 for x in range(48)) for y in range(16))
    chunks = [_chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))]
    if text is not None:
        data = {
            b"tEXt": text.encode(),
            b"zTXt": b"\x00" + zlib.compress(text.encode()),
            b"iTXt": b"\x01\x00\x00\x00" + zlib.compress(text.encode()),
        }[kind]
        chunks.append(_chunk(kind, b"Author\x00" + data))
    chunks += [_chunk(b"IDAT", zlib.compress(rows)), _chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def wav(artist: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes((i * 7) % 256 for i in range(1600)))
    raw = buffer.getvalue()
    if artist is None:
        return raw
    info = b"INFO" + b"IART" + struct.pack("<I", len(artist) + 1) + artist.encode() + b"\x00"
    info += b"\x00" * (len(info) % 2)
    body = raw[12:] + b"LIST" + struct.pack("<I", len(info)) + info
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WAVE" + body


def mp3_comment(text: str) -> bytes:
    """An MP3 whose ID3v2 COMM frame is written in UTF-16 (encoding 1), as most taggers write it."""
    body = b"\x01eng" + b"\xff\xfe\x00\x00" + b"\xff\xfe" + text.encode("utf-16-le") + b"\x00\x00"
    frame = b"COMM" + struct.pack(">I", len(body)) + b"\x00\x00" + body
    size = len(frame)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x03\x00\x00" + syncsafe + frame + b"\xff\xfb\x90\x00" + bytes(range(64))


def docx_with_workbook(cell: str) -> bytes:
    """A docx whose chart data is an xlsx inside it (word/embeddings/), the text only there."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as workbook:
        workbook.writestr("xl/sharedStrings.xml", f"<sst><si><t>{cell}</t></si></sst>")
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", "<w:document><w:body><w:p>Chart below</w:p></w:body></w:document>")
        archive.writestr("word/embeddings/Microsoft_Excel_Worksheet.xlsx", inner.getvalue())
    return outer.getvalue()


def docx(*runs: str) -> bytes:
    xml = (
        "<w:document><w:body><w:p>"
        + "".join(f"<w:r><w:t>{r}</w:t></w:r>" for r in runs)
        + "</w:p></w:body></w:document>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", xml)
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Length 44 /Filter /FlateDecode >>\nstream\n" + zlib.compress(b"(pdf.user@leakmail.io) Tj")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def image_part(raw: bytes, media: str = "image/png") -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": f"data:{media};base64,{b64(raw)}"}}


def file_part(raw: bytes, name: str) -> dict[str, Any]:
    return {"type": "file", "file": {"filename": name, "file_data": b64(raw)}}


def audio_part(raw: bytes) -> dict[str, Any]:
    return {"type": "input_audio", "input_audio": {"data": b64(raw), "format": "wav"}}


def send(helix: Helix, part: dict[str, Any]) -> httpx.Response:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": [{"type": "text", "text": "see"}, part]}]}
    return httpx.post(f"{helix.url}/v1/chat/completions", json=body, headers={"cache-control": "no-cache"}, timeout=30)


@pytest.fixture(scope="module")
def firewall(tmp_path_factory: pytest.TempPathFactory, upstream: tuple[ServerThread, FakeState]) -> Iterator[Helix]:
    instance = start_helix(tmp_path_factory.mktemp("binary"), upstream[0].url)
    yield instance
    instance.server.stop()


TEXT_FILE = (
    "Meeting notes\n" + "The quarterly numbers look fine. " * 10 + "Send questions to notes.owner@leakmail.io\n"
).encode()


@pytest.mark.parametrize(
    "part",
    [file_part(TEXT_FILE, "notes.txt"), image_part(TEXT_FILE, "text/plain")],
    ids=["bare base64 file_data", "data URL"],
)
def test_a_base64_text_file_is_redacted(firewall: Helix, fake: FakeState, part: dict[str, Any]) -> None:
    response = send(firewall, part)
    assert response.status_code == 200, response.text
    seen = _seen(fake)
    assert "notes.owner@leakmail.io" not in seen and b64(TEXT_FILE) not in seen
    sent = fake.requests[0].body["messages"][0]["content"][1]
    payload = sent["file"]["file_data"] if "file" in sent else sent["image_url"]["url"].split(",", 1)[1]
    assert "<EMAIL_ADDRESS>" in base64.b64decode(payload).decode()
    assert b"notes.owner@leakmail.io" not in file_bytes(firewall)


@pytest.mark.parametrize(
    ("part", "value"),
    [
        (image_part(png("Ann Lee <img.owner@leakmail.io>")), "img.owner@leakmail.io"),
        (audio_part(wav("ann.audio@leakmail.io, +44 20 7946 0958")), "ann.audio@leakmail.io"),
        (file_part(docx("Contact doc.user@", "leakmail.io for the budget."), "plan.docx"), "doc.user@"),
        # faults round 23: compressed PNG text, UTF-16 ID3 tags, a workbook inside a document, a card alone in a chunk
        (image_part(png("Contact zq.z@leakmail.io thanks", b"zTXt")), "zq.z@leakmail.io"),
        (image_part(png("Contact zq.i@leakmail.io thanks", b"iTXt")), "zq.i@leakmail.io"),
        (image_part(png("4539148803436467")), "4539148803436467"),
        (audio_part(mp3_comment("call zq.mp3@leakmail.io or 4539 1488 0343 6467")), "zq.mp3@leakmail.io"),
        (file_part(docx_with_workbook("Ann Lee zq.xlsx@leakmail.io"), "chart.docx"), "zq.xlsx@leakmail.io"),
    ],
    ids=[
        "png text chunk",
        "wav artist tag",
        "docx split over runs",
        "png zTXt",
        "png iTXt",
        "png card alone",
        "mp3 utf-16 comment",
        "docx's embedded workbook",
    ],
)
def test_pii_in_the_text_a_binary_carries_refuses_the_request(
    firewall: Helix, fake: FakeState, part: dict[str, Any], value: str
) -> None:
    response = send(firewall, part)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "pii_in_binary" and error["param"].startswith("messages[0].content[1]")
    assert value not in response.text
    assert not fake.requests
    assert value.encode() not in file_bytes(firewall)


# A PDF with no compressed stream is all ASCII, so it decodes as text; its text strings may still be written in hex
# (`<...> Tj`, here an email address), which no text scan reads.
TEXT_ONLY_PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\nBT <616e6e2e6c6565406c65616b6d61696c2e696f> Tj ET\n%%EOF\n"
)


@pytest.mark.parametrize("data_url", [False, True], ids=["bare", "data URL"])
def test_a_pdf_that_decodes_as_text_is_refused_as_a_pdf(firewall: Helix, fake: FakeState, data_url: bool) -> None:
    """A PDF is a PDF by its first bytes: it was taken for a text file (and sent on, its hex-written address
    unseen) when it happened to be all ASCII."""
    part = file_part(TEXT_ONLY_PDF, "report.pdf")
    if data_url:
        part["file"]["file_data"] = "data:application/pdf;base64," + part["file"]["file_data"]
    response = send(firewall, part)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "pii_unverifiable_input" and "PDF document" in error["message"]
    assert not fake.requests


def test_unreadable_files_are_refused_unless_configured(
    firewall: Helix, fake: FakeState, tmp_path: Path, upstream: tuple[ServerThread, FakeState]
) -> None:
    for part in (file_part(PDF, "report.pdf"), file_part(b"\x00\x01binary" * 60, "blob.bin")):
        response = send(firewall, part)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "pii_unverifiable_input" and "send its text instead" in error["message"]
    assert "PDF document" in send(firewall, file_part(PDF, "r.pdf")).json()["error"]["message"]
    assert not fake.requests
    passing = start_helix(tmp_path, upstream[0].url, '[pii]\nunreadable_files = "pass"\n')
    try:
        assert send(passing, file_part(PDF, "report.pdf")).status_code == 200
        assert fake.requests[-1].body["messages"][0]["content"][1]["file"]["file_data"] == b64(PDF)
    finally:
        passing.server.stop()


@pytest.mark.parametrize(
    "part",
    [
        image_part(png()),
        image_part(png("Made with a scanner")),
        audio_part(wav()),
        file_part(docx("Budget", " plan"), "a.docx"),
    ],
    ids=["png", "png with clean text", "wav", "docx"],
)
def test_clean_binaries_pass_unchanged(firewall: Helix, fake: FakeState, part: dict[str, Any]) -> None:
    response = send(firewall, part)
    assert response.status_code == 200, response.text
    assert fake.requests[0].body["messages"][0]["content"][1] == part


def test_kinds_and_embedded_text() -> None:
    assert kind_of(png()) == "PNG image" and kind_of(wav()) == "WAV audio" and kind_of(docx("x")) == "ZIP document"
    assert kind_of(PDF) == "PDF document" and kind_of(b"\x00\x01\x02") is None
    with pytest.raises(Unreadable, match="PDF"):
        contents(PDF)
    assert "img.owner@leakmail.io" in contents(png("img.owner@leakmail.io")).text
    assert contents(png()).text == ""  # compressed pixels are not text
    assert embedded_text(bytes(range(256)) * 8) == ""


def test_short_words_under_payload_keys_are_text() -> None:
    fields = walk({"metadata": {"data": "test", "file_data": "quarterly"}, "messages": []})
    assert [f.text for f in fields if not f.is_key] == ["test", "quarterly"]


def test_provider_issued_blobs_pass_and_text_hidden_in_them_does_not() -> None:
    blob = b64(bytes(range(256)) * 2)
    hidden = b64(("x" * 200 + " mail ann@leak.io").encode())
    items = [{"type": "reasoning", "encrypted_content": v} for v in (blob, hidden)]
    body: dict[str, Any] = {"input": items}
    redact_body(body, Redactor(PiiEngine(PiiConfig(spacy_model="off"))))
    assert body["input"][0]["encrypted_content"] == blob
    assert base64.b64decode(body["input"][1]["encrypted_content"]).decode().endswith("mail <EMAIL_ADDRESS>")


def test_a_corrupt_document_is_unreadable_not_an_error() -> None:
    raw = bytearray(docx("Contact doc.user@leakmail.io"))
    start = raw.index(b"word/document.xml") + len("word/document.xml")
    raw[start + 2 : start + 20] = b"\xff" * 18  # the member's deflated bytes
    with pytest.raises(Unreadable, match="ZIP document"):
        contents(bytes(raw))


def test_long_runs_of_letters_outside_payload_keys_are_text() -> None:
    run = "w" * 3000 + "AKIA4UJE5SGZ278V65E5" + "w" * 300
    fields = walk({"messages": [{"role": "user", "content": run}]})
    assert [f.text for f in fields if f.path == "messages[0].content"] == [run]


def test_a_document_whose_member_does_not_open_is_refused_without_quoting_its_name(
    firewall: Helix, fake: FakeState
) -> None:
    """The 400 quoted the member's name as a Python repr, whole: a name of 5,000 characters holding an email."""
    name = "jo.smith@example.com-" + "n" * 5000 + ".xml"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, "<w:t>" + " ".join(f"word{i}" for i in range(500)) + "</w:t>")
    raw = bytearray(buffer.getvalue())
    start = raw.index(name.encode()) + len(name)
    raw[start + 2 : start + 20] = b"\xff" * 18  # the member's deflated bytes
    fake.requests.clear()
    response = send(firewall, file_part(bytes(raw), "notes.docx"))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "pii_unverifiable_input" and "ZIP document" in error["message"]
    assert len(response.content) < 2_000 and "jo.smith" not in response.text, response.text[:300]
    assert not fake.requests


def test_what_a_requests_files_inflate_to_is_bounded_in_all() -> None:
    """Each PNG had a budget of its own for its compressed text, so a document of many small images (or a request of
    many) inflated to gigabytes in memory (a reviewer's find): one budget bounds the request's files together."""
    big = png("a " * (MAX_INFLATED // 3), b"zTXt")  # ~21 MB of text in a few tens of KB
    assert len(big) < MAX_INFLATED // 100
    one = {"model": "m", "messages": [{"role": "user", "content": [image_part(big)]}]}
    assert walk(one)  # alone, within the budget
    two = {"model": "m", "messages": [{"role": "user", "content": [image_part(big), image_part(big)]}]}
    with pytest.raises(UnverifiableInput, match="inflated"):
        walk(two)

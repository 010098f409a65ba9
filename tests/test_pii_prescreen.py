"""The prescreen (`helix/pii/prescreen.py`) skips a gate only where the gate would say no, and the findings are those
of the engine without it (a platform where Hyperscan does not import), on every probe and benign text in the repo."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helix.pii import prescreen
from helix.pii.analyzer import PiiEngine
from helix.pii.config import PiiConfig
from helix.pii.prescreen import Needs, prescreen_for
from helix.pii.scan import Scanner, lowered

ROOT = Path(__file__).resolve().parent.parent
CORPORA = [
    *sorted((ROOT / "bench" / "probes").glob("pii_probe_*.jsonl")),
    *sorted((ROOT / "bench" / "probes").glob("pii_benign_*.jsonl")),
    ROOT / "tests" / "data" / "pii_prompts.jsonl",
]


def _texts() -> list[str]:
    texts = []
    for path in CORPORA:
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                texts.append(row.get("text") or row.get("prompt") or "")
    return [t for t in texts if t]


TEXTS = _texts()


@pytest.fixture(scope="module")
def engine() -> PiiEngine:
    return PiiEngine(PiiConfig())


@pytest.fixture(scope="module")
def unscreened(monkeypatch_module: pytest.MonkeyPatch) -> PiiEngine:
    monkeypatch_module.setattr(prescreen, "hyperscan", None)
    built = PiiEngine(PiiConfig())
    monkeypatch_module.undo()
    return built


@pytest.fixture(scope="module")
def monkeypatch_module() -> pytest.MonkeyPatch:
    return pytest.MonkeyPatch()


def _scanner(engine: PiiEngine) -> Scanner:
    return engine._scanner


def _skipped_gates_that_say_yes(scanner: Scanner, text: str) -> list[str]:
    view = lowered(text)
    matched = scanner._prescreen.matched(text, view) if scanner._prescreen else None
    if matched is None:
        return []
    return [
        type(entry.recognizer).__name__
        for entry in scanner._entries
        if entry.gate is not None
        and entry.screen is not None
        and entry.screen.isdisjoint(matched)
        and entry.gate(text, view)
    ]


def test_the_corpus_is_there() -> None:
    assert len(TEXTS) > 8000


def test_the_prescreen_is_built_and_screens_most_gates(engine: PiiEngine) -> None:
    scanner = _scanner(engine)
    assert scanner._prescreen is not None
    screened = [e for e in scanner._entries if e.gate is not None and e.screen is not None]
    assert len(screened) >= 18, [type(e.recognizer).__name__ for e in screened]


def test_no_gate_is_skipped_where_it_would_say_yes(engine: PiiEngine) -> None:
    scanner = _scanner(engine)
    wrong = {}
    for text in TEXTS:
        for piece in (text, *text.splitlines()):
            if skipped := _skipped_gates_that_say_yes(scanner, piece):
                wrong[piece[:80]] = skipped
    assert not wrong


def test_findings_are_those_of_the_engine_without_hyperscan(engine: PiiEngine, unscreened: PiiEngine) -> None:
    assert _scanner(unscreened)._prescreen is None
    differ = [t[:80] for t in TEXTS if engine.analyze(t) != unscreened.analyze(t)]
    assert not differ


# Fragments the gates look for, in any order with anything between: hypothesis builds texts a hint away from a gate.
FRAGMENTS = [
    *("@", " at) ", " dot ", "arroba", "Str. 12", "Hauptstraße 4", "straat 7", "12 Baker Street", "Rue ", "Calle "),
    *("P.O. Box 7", ", 1012 LG A", "CA 94107", "SW1A 1AA", "D02 X285", "区", "〒", "Musashino-shi", "address: "),
    *("zip: ", "Postfach 10 12"),
    *("PID|", "IN1|", "(0010,", " No: 5", "Caddesi", "GB29 ", "DE 44", "10.0.0.1", "fe80::1", "00:1a:2b:3c:4d:5e"),
    *("001a.2b3c.4d5e", "52.37231", "lat_e7: ", "GPS", "<<<", "P/USA/", "user", "login: ", "/home/ana", "Users\\"),
    *("--user=", " -u ", "otpauth://", "</user>", "eyJhbGciOi", "born on", "DOB ", "SSN", "password", "api key"),
    *("secret", "AKIA", "-----BEGIN", "+44 20 7946 0958", "nine one seven five five two", "AB123456C", "12A34"),
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=8))
def test_generated_texts_skip_no_gate_that_says_yes(engine: PiiEngine, parts: list[str]) -> None:
    text = "".join(parts)
    assert not _skipped_gates_that_say_yes(_scanner(engine), text)


def test_a_text_hyperscan_cannot_read_is_not_screened() -> None:
    screen = prescreen_for((Needs(text=("@",)),))
    assert screen.matched("a\ud800b@", " a\ud800b@") is None  # a lone surrogate is not UTF-8
    assert screen.matched("a@b", " a@b") == {0}
    assert screen.matched("ab", " ab") == set()


def test_a_pattern_hyperscan_cannot_compile_leaves_its_gate_unscreened() -> None:
    screen = prescreen_for((Needs(text=("x*",)), Needs(text=(r"(a)\1",)), Needs(lowered=(r"caf\u00e9",))))
    assert screen.ids[0] is None  # it matches the empty string: every text
    back_reference, escaped = screen.ids[1], screen.ids[2]
    assert back_reference is not None and escaped is not None  # compiled loosely, and read as Python reads it
    assert back_reference <= (screen.matched("aa", " aa") or set())
    assert escaped <= (screen.matched("CAFÉ", " café") or set())
    assert not escaped & (screen.matched("cafe", " cafe") or set())


# Digits and letters of scripts newer than Hyperscan's Unicode tables (Adlam, Hanifi Rohingya, Newa, Georgian capitals):
# a reviewer's texts, each skipped by a gate's `\d` or `[^\W\d_]` before those characters were left unscreened.
NEWER_SCRIPTS = [
    "My phone: +𞥔𞥔 𞥒𞥐 𞥗𞥙𞥔𞥖 𞥐𞥙𞥕𞥘",
    "My phone: +𐴴𐴴 𐴲𐴰 𐴷𐴹𐴴𐴶 𐴰𐴹𐴵𐴸",
    "Call me on 𞥐𞥒𞥐 𞥗𞥙𞥔𞥖 𞥐𞥙𞥕𞥘 tonight.",
    "Sonnenallee 𑑑𑑔𑑓, 𑑑𑑒𑑐𑑕𑑙 Berlin",
    "ᲠᲣᲡᲗᲐᲕᲔᲚᲘ 12, 01080 ᲗᲑᲘᲚᲘᲡᲘ",
    "My NRIC is S𞥐𞥓𞥓𞥘𞥗𞥑𞥘F",
]


@pytest.mark.parametrize("text", NEWER_SCRIPTS)
def test_characters_hyperscan_reads_otherwise_than_python_leave_the_text_unscreened(
    engine: PiiEngine, unscreened: PiiEngine, text: str
) -> None:
    assert engine.analyze(text) == unscreened.analyze(text) != []


def test_an_id_in_other_scripts_digits_is_checked_not_a_crash(engine: PiiEngine) -> None:
    """The codice fiscale's check read ASCII digits only: Arabic-Indic ones raised KeyError, and the request failed."""
    for text in ("Codice fiscale: RSSMRA٨٥T١٠A٥٦٢S", "Codice fiscale: RSSMRA𞥘𞥕T𞥑𞥐A𞥕𞥖𞥒S"):  # noqa: RUF001
        assert [f.entity_type for f in engine.analyze(text)] == ["ID_NUMBER"]


@pytest.mark.parametrize("python_class", [r"\d", r"\w", r"\s", r"[^\W\d_]"])
def test_every_character_python_counts_in_a_class_is_matched_or_unscreened(python_class: str) -> None:
    screen = prescreen_for((Needs(text=(python_class,)),))
    (ids,) = screen.ids
    assert ids is not None
    compiled = re.compile(python_class)
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    missed = [
        c
        for c in compiled.findall(every)
        if (found := screen.matched(c, " " + c.lower())) is not None and not ids & found
    ]
    assert not missed, [hex(ord(c)) for c in missed[:20]]


def test_a_lone_surrogate_is_analysed_not_an_error(engine: PiiEngine) -> None:
    """A library caller's text may hold half a surrogate pair (requests holding one are refused at parse): the numbers
    read aloud gate encoded it as UTF-8 and raised."""
    text = "hi \ud800 call me at 415-555-0100, one two three four five"
    assert [text[f.start : f.end] for f in engine.analyze(text)] == ["415-555-0100"]

"""The few word lists the facts check needs, from `data/*.txt`: one entry a line, `#` starts a comment line."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


def lines(name: str) -> list[str]:
    text = files("helix.cache.judge").joinpath("data", name).read_text(encoding="utf-8")
    return [s for s in (line.strip() for line in text.splitlines()) if s and not s.startswith("#")]


@cache
def words(name: str) -> frozenset[str]:
    """The entries of a plain list such as `negations.txt`, as a set."""
    return frozenset(lines(name))


def _mapping(name: str) -> dict[str, str]:
    """`canonical: alias alias …` lines → {alias: canonical} (the canonical spelling maps to itself)."""
    out: dict[str, str] = {}
    for line in lines(name):
        head, _, rest = line.partition(":")
        for alias in [head.strip(), *rest.split()]:
            out[alias.lower()] = head.strip()
    return out


@cache
def units() -> dict[str, str]:
    return _mapping("units.txt")


@cache
def medicines() -> dict[str, str]:
    """A medicine's every name -> its generic name."""
    return _mapping("medicines.txt")


@cache
def number_words() -> dict[str, float]:
    return {word: float(value) for word, value in (line.split(":") for line in lines("number_words.txt"))}


def _pairs(name: str) -> tuple[tuple[str, str], ...]:
    return tuple((a, b) for a, b in (line.split() for line in lines(name)))


@cache
def opposites() -> tuple[tuple[str, str], ...]:
    return _pairs("opposites.txt")


@cache
def particles() -> tuple[tuple[str, str], ...]:
    return _pairs("particles.txt")


@cache
def negative_prefixes() -> tuple[str, ...]:
    return tuple(lines("negative_prefixes.txt"))


@cache
def opposite_prefixes() -> tuple[tuple[str, str], ...]:
    return _pairs("opposite_prefixes.txt")


@cache
def relations() -> tuple[tuple[str, str], ...]:
    return _pairs("relations.txt")


@cache
def question_words() -> dict[str, str]:
    """ "who: person" lines → {"who": "person"}; a phrase may be two words ("how many")."""
    return {
        phrase.strip(): kind.strip()
        for phrase, _, kind in (line.partition(":") for line in lines("question_words.txt"))
    }


@cache
def replies() -> dict[str, str]:
    """{word: "yes" | "no" | "lead-in"}: how a reply opens (two-word openings joined by "_")."""
    return _mapping("replies.txt")


@cache
def counts() -> dict[str, str]:
    """{word: "one" or "many"}: how many of the thing after it a question is about (`data/counts.txt`)."""
    return _mapping("counts.txt")


@cache
def irregular_verbs() -> dict[str, str]:
    """{past form: base} of the irregular verbs (`data/irregular_verbs.txt`): "went" -> "go"."""
    return {form: base for form, base in _mapping("irregular_verbs.txt").items() if form != base}

"""Facts two questions must share to deserve one answer, whatever the wording.

Each check compares one kind of fact and names itself when it vetoes:
- numbers: the same values, and the same unit where both name one ("5 minute" vs "5 minimum" differ);
- literals: quoted text, `code`, URLs and email addresses, when both questions carry some;
- symbols: operators, paths, emoji, flags and escapes, when both questions carry some ("3 < 5" / "3 > 5", "rm -rf /"
  / "rm -rf ./", 👍 / 👎, "-p" / "-P"), which the model's tokenizer reads as unknown, uncased or alike;
- negation: a word negated in one question and plain in the other ("is empty" / "is not empty");
- direction: "X to Y" in one and "Y to X" in the other (USD→EUR / EUR→USD, Basic→Pro / Pro→Basic), or the
  same words with two of them trading places ("a dog sees better than a cat" / "a cat sees better than a dog");
- opposites: a word in one and its opposite in the other (WordNet antonyms such as enable/disable, a negative
  prefix such as block/unblock, opposite prefixes on one stem such as encrypt/decrypt and upload/download, a
  reversed particle such as turn on/turn off, a relation word before the same object such as before/after a run,
  clipped opposites such as max/min, the two parties of an act such as employer/employee);
- tense, time, modality, quantity (`aspects`): each question has a class of the fact the other lacks ("Did my
  payment go through?" / "Will my payment go through?", "this week" / "next week", "all" / "none");
- count: one of a thing in one and many of it in the other ("this device" / "all devices", "a message" / "all
  messages");
- doer: an act in the past done by the asker in one and by a third party in the other ("I cancelled my booking" /
  "the hotel cancelled my booking");
- question: a person or a reason asked for in one and another kind of answer in the other, about the same words
  ("Who founded Microsoft?" / "When was Microsoft founded?");
- entities: each names a product, language, currency, plan, proper noun, model name (ps5, s24) or code identifier
  (useState) that the other lacks.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

from helix.cache.judge import aspects, parties, questions, wordlists
from helix.cache.judge.text import SHORT_WORD as _SHORT_WORD
from helix.cache.judge.text import stem as _stem
from helix.cache.judge.text import words

_NUMBER_RE = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)([a-z%]*)(?![\w.]*\d)", re.IGNORECASE)
_DIGITS_RE = re.compile(r"\d+")
_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# Numbers joined by operators: "2 + 2 + 2", "3*3", "10 / 2", "x <= 10" has none (one number); a date's "2024-01-15" is
# one too, the same on both sides when it is the same date.
_OPERAND = r"\d+(?:\.\d+)?"
_EXPRESSION_RE = re.compile(rf"{_OPERAND}(?:[ \t]*(?:[-+*/\u00d7\u00f7^%]|\*\*|[<>=!]=?)[ \t]*{_OPERAND})+")
_OPERAND_RE = re.compile(_OPERAND)
_DIGIT_HYPHEN_RE = re.compile(r"(\d)-(?=[a-z])", re.IGNORECASE)
_LITERAL_RE = re.compile(
    r"\"([^\"]+)\"|“([^”]+)”|(?<!\w)'([^']+)'(?!\w)|`([^`]+)`|(https?://\S+|www\.\S+)|([\w.+-]+@[\w-]+\.[\w.]+)"
)
_SYMBOL_RUN_RE = re.compile(r"[^\w\s]+")
_PROSE = ".,!?;:'\"“”‘’()[]{}…–—"  # noqa: RUF001 - typographic quotes and dashes are prose
_FRACTION_RE = re.compile(r"(?<![\w/])\d+(?:/\d+)+(?![\w/])")  # 3/4 is not 4/3; 05/12/2026 not 12/05/2026
_FLAG_RE = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*|\\[A-Za-z]")
_IN_WORD_MARKS = frozenset("-/'’&.")  # noqa: RUF001 - "two-factor", "and/or", "don't", "R&D", "v1.2"
_DET = r"(?:(?:the|a|an|my|your|our|this|that)\s+)?"
_DIRECTION_RES = (  # (pattern, whether the groups come as to-from)
    (re.compile(rf"\bfrom\s+{_DET}([\w.#+]+)(?:\s+\w+)?\s+(?:to|into)\s+{_DET}([\w.#+]+)", re.IGNORECASE), False),
    (re.compile(rf"\bto\s+{_DET}([\w.#+]+)\s+from\s+{_DET}([\w.#+]+)", re.IGNORECASE), True),
    (re.compile(rf"([\w.#+]+)\s+(?:to|into|->|→)\s+{_DET}([\w.#+]+)", re.IGNORECASE), False),
    (
        re.compile(rf"\b(?:replace|swap|substitute)\s+{_DET}([\w.#+]+)\s+(?:with|by|for)\s+([\w.#+]+)", re.IGNORECASE),
        False,
    ),
)
_FROM_TO_RES = _DIRECTION_RES[:2]
_SENTENCE_START_RE = re.compile(r"(?:^|[.!?:;,\-\u2013(]\s*)([A-Z][\w.#+]*)")
_FRAME_RE = re.compile(r"^\s*\w+(?:\s+\w+)?\s*[,!]+\s+|(?<=\?)(?:\s*[\w']+){1,3}\W*$")
_PROPER_RE = re.compile(r"(?<=\w[ ])([A-Z][a-z]*[A-Z0-9][\w]*|[A-Z]{2,}[\w]*|[A-Z][a-z]+)")
# A product's model name, letters then digits, written in any case: "ps5", "s24", "rtx4090", "m2"; not a unit ("5gb").
_MODEL_NAME_RE = re.compile(r"\b[a-z]{1,6}\d{1,4}\b", re.IGNORECASE)
_CAMEL_RE = re.compile(r"\b[a-z]+[A-Z][A-Za-z0-9]*\b")  # useState, getElementById: names in code, any position
# list.append, json.load, os.path.join; a chain read whole (datetime.datetime.now is datetime's now), its member in
# lower case ("Hi.How do I" is a missing space)
_MEMBER_RE = re.compile(r"\b([A-Za-z_]\w*)(?:\.[A-Za-z_]\w*)*\.([a-z_]\w+)\b")
# An order's, a ticket's or a commit's id: letters and two digits or more mixed in one word, a digit after a letter
# ("a7c4e2d9", "inv00042"); not a number and its unit ("1080p", "5gb": the numbers fact) nor a model name's letters
# then digits ("sha256", "rtx4090": `_MODEL_NAME_RE`, an entity).
_IDENTIFIER_RE = re.compile(r"(?=[a-z0-9]{5,}$)(?=.*[a-z]\d)(?=(?:.*\d){2})(?![a-z]{1,6}\d{1,4}$)")


@dataclass(frozen=True, slots=True)
class Veto:
    fact: str
    detail: str

    def __str__(self) -> str:
        return f"{self.fact}: {self.detail}"


def _value(number: str) -> float:
    """A number's value; a version's or an address's parts ("1.2.3", "10.0.0.1"; float() raised on them, a 500) as one
    value of their own, each part in its own thousandth: 1.002003, 10.000000001."""
    first, *rest = number.split(".")
    if len(rest) <= 1:
        return float(number)
    return int(first) + sum(int(part) / 1000 ** (i + 1) for i, part in enumerate(rest))


_ORDINAL_RE = re.compile(r"(?<![\w.])(\d+)(?:st|nd|rd|th)\b", re.IGNORECASE)


def _numbers(text: str) -> tuple[dict[float, set[str]], bool, set[float]]:
    """Each number's value → its units: a unit glued or next to it ("5min", "$5", "5 minutes") or the noun
    after it ("5 rows"), so that "5 minute" and "5 minimum" differ. Whether any was written in digits. And the
    values that tell when something happened ("10 days ago")."""
    units = wordlists.units()
    found: dict[float, set[str]] = {}
    told: set[float] = set()
    digits = False
    text = _LITERAL_RE.sub(" ", text)  # numbers inside quotes or code are compared as literals
    text = _THOUSANDS_RE.sub("", text)  # "1,000" is 1000
    tokens = words(_DIGIT_HYPHEN_RE.sub(r"\1 ", text))  # "5-minute" is "5 minute"
    for i, token in enumerate(tokens):
        value: float | None = None
        unit = ""
        match = _NUMBER_RE.fullmatch(token)
        if match and (not match.group(2) or match.group(2).lower() in units):
            value = _value(match.group(1).replace(",", ""))
            unit = match.group(2).lower()
            digits = True
        elif token in wordlists.number_words():
            value = wordlists.number_words()[token]
        if value is None:
            continue
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if not unit and (after in units or (after.isalpha() and len(after) > _SHORT_WORD)):
            unit = after
        if not unit and i > 0 and tokens[i - 1] in units and not tokens[i - 1].isalnum():
            unit = tokens[i - 1]  # "$5", "€20"
        heads = found.setdefault(value, set())
        if unit:
            heads.add(units.get(unit, unit.removesuffix("s")))
        if tokens[i + 2 : i + 3] == ["ago"]:
            told.add(value)
    return found, digits, told


def _ordinals(text: str) -> set[float]:
    return {_value(m.group(1)) for m in _ORDINAL_RE.finditer(text)}


def _check_ordinals(a: str, b: str) -> Veto | None:
    """Another place in a series, when both name one: "a 2nd checked bag" / "a 3rd checked bag" (a date told on one
    side only is a story's: "we get the keys on the 1st")."""
    oa, ob = _ordinals(a), _ordinals(b)
    if oa and ob and oa != ob:
        return Veto("numbers", f"{_fmt(oa)} vs {_fmt(ob)} in a series")
    return None


def _check_numbers(a: str, b: str) -> Veto | None:
    (na, digits_a, told_a), (nb, digits_b, told_b) = _numbers(a), _numbers(b)
    # "I moved out 10 days ago, when is my deposit returned?" asks what "when is my deposit returned?" does: a time a
    # story is told at counts only against another question's ("bought 40 days ago" / "5 days ago": a return window)
    if told_a and not told_b:
        na = {value: heads for value, heads in na.items() if value not in told_a or value in nb}
    elif told_b and not told_a:
        nb = {value: heads for value, heads in nb.items() if value not in told_b or value in na}
    # "charged twice" / "double charged": a number spelled out where the other names none is wording
    spelled_only = (not nb and not digits_a) or (not na and not digits_b)
    if set(na) != set(nb) and not spelled_only:
        return Veto("numbers", f"{_fmt(set(na))} vs {_fmt(set(nb))}")
    # "2 + 2" / "2 + 2 + 2": the same numbers, one more often in the sums both sides write (in prose a number said
    # twice is emphasis: "Is 17 prime? Check whether 17 is prime")
    in_a, in_b = _operands(a), _operands(b)
    if in_a and in_b and in_a != in_b:
        return Veto("numbers", f"{_fmt(set(in_a))} in {in_a.total()} operands vs {in_b.total()}")
    known = set(wordlists.units().values())
    for value, heads in na.items():
        other = nb.get(value, set())
        named = (heads | other) & known
        if heads and other and named and not heads & other:
            return Veto("numbers", f"{value:g} {'/'.join(sorted(heads))} vs {value:g} {'/'.join(sorted(other))}")
    return None


def _operands(text: str) -> Counter[float]:
    """The numbers of the arithmetic or comparisons written in `text` ("2 + 2 * 3", "x <= 10"), each as often as
    written."""
    found: Counter[float] = Counter()
    for expression in _EXPRESSION_RE.finditer(_THOUSANDS_RE.sub("", text)):
        found.update(float(n) for n in _OPERAND_RE.findall(expression.group()))
    return found


def _glued(text: str) -> dict[str, set[str]]:
    """Words with digits glued to letters ("2d", "ipv6", "mp3", "python3"), by their letters with the digits
    marked: "2d" and "3d" are one word with two numbers, which the numbers above do not read."""
    found: dict[str, set[str]] = {}
    for w in words(text):
        if w.isalnum() and not w.isdigit() and _DIGITS_RE.search(w):
            found.setdefault(_DIGITS_RE.sub("#", w), set()).add(w)
    return found


def _check_glued_numbers(a: str, b: str) -> Veto | None:
    ga, gb = _glued(a), _glued(b)
    for shape, written in ga.items():
        other = gb.get(shape)
        if other is not None and other != written:
            return Veto("numbers", f"{'/'.join(sorted(written))} vs {'/'.join(sorted(other))}")
    return None


def _fmt(values: set[float]) -> str:
    return "[" + ", ".join(f"{v:g}" for v in sorted(values)) + "]"


def _literals(text: str) -> set[str]:
    return {next(g for g in m.groups() if g).strip().lower() for m in _LITERAL_RE.finditer(text)}


def _check_literals(a: str, b: str) -> Veto | None:
    la, lb = _literals(a), _literals(b)
    if la and lb and la != lb:
        return Veto("literals", f"{sorted(la)} vs {sorted(lb)}")
    return None


def _symbols(text: str) -> set[str]:
    """Symbols outside literals, prose marks and words: operators ("<", ">=", "??"), paths ("/", "./"), emoji,
    fractions and dates in their order ("3/4"), and command-line flags and regex escapes as written ("-p" is not
    "-P", "\\d" not "\\D"). Money and percent signs are the numbers' units."""
    text = _LITERAL_RE.sub(" ", text)
    found = set(_FLAG_RE.findall(text)) | set(_FRACTION_RE.findall(text))
    text = _FRACTION_RE.sub(" ", _FLAG_RE.sub(" ", text))
    for m in _SYMBOL_RUN_RE.finditer(text):
        run = "".join(c for c in m.group(0) if c != "%" and unicodedata.category(c) != "Sc")
        start, end = m.start(), m.end()
        before, after = text[start - 1 : start], text[end : end + 1]
        if len(run) == 1 and run in _IN_WORD_MARKS and before.isalnum() and after.isalnum():
            continue
        if run == "-" and before.isspace() and after.isspace():
            continue  # "Billing - refunds": a dash in prose
        # standing alone mid-sentence, marks are an operator ("what does ?. do"), unless an ellipsis
        operator = not before.strip() and not after.strip() and len(run) > 1 and text[end:].strip() != ""
        if not (operator and set(run) - {".", "…"}):
            run = run.rstrip(_PROSE).lstrip(_PROSE.replace(".", ""))  # "./" and "../" are paths
        if run:
            found.add(run)
    return found


def _check_symbols(a: str, b: str) -> Veto | None:
    sa, sb = _symbols(a), _symbols(b)
    if sa and sb and sa != sb:
        return Veto("symbols", f"{sorted(sa)} vs {sorted(sb)}")
    return None


def _verb_stem(word: str) -> str:
    """The stem of a word, an irregular past read as its verb ("went" is "go", "paid" is "pay")."""
    return _stem(wordlists.irregular_verbs().get(word, word))


def _negated(tokens: list[str]) -> set[str]:
    negations, skip = wordlists.words("negations.txt"), wordlists.words("negation_skip.txt")
    out = set()
    for i, token in enumerate(tokens):
        if token in negations:
            rest = [w for w in tokens[i + 1 :] if w not in skip]
            if rest:
                out.add(_verb_stem(rest[0]))
    return out


def _check_negation(a: str, b: str) -> Veto | None:
    ta, tb = words(a), words(b)
    sa, sb = {_verb_stem(w) for w in ta}, {_verb_stem(w) for w in tb}
    for negated, plain, plain_negated in ((_negated(ta), sb, _negated(tb)), (_negated(tb), sa, _negated(ta))):
        clash = sorted((negated & plain) - plain_negated)
        if clash:
            return Veto("negation", f"'{clash[0]}' negated in one question only")
    return None


def _pairs(text: str, patterns: tuple[tuple[re.Pattern[str], bool], ...] = _DIRECTION_RES) -> set[tuple[str, str]]:
    units = wordlists.units()
    out = set()
    for pattern, reversed_groups in patterns:
        for m in pattern.finditer(text):
            x, y = (units.get(w.lower(), w.lower()) for w in m.groups())
            if reversed_groups:
                x, y = y, x
            if x != y:
                out.add((x, y))
    return out


def _check_direction(a: str, b: str) -> Veto | None:
    pb = _pairs(b)
    for x, y in _pairs(a):
        if (y, x) in pb and (x, y) not in pb:
            return Veto("direction", f"{x} → {y} vs {y} → {x}")
    crossed = _crossed(_pairs(a, _FROM_TO_RES), _pairs(b, _FROM_TO_RES))
    if crossed is not None:
        return Veto("direction", crossed)
    ta, tb = words(_unframed(a, set(words(b)))), words(_unframed(b, set(words(a))))
    traded = _traded_places(ta, tb) or _traded_phrases(ta, tb)
    if traded is not None:
        x, y = traded
        return Veto("direction", f"{x} … {y} vs {y} … {x}")
    return None


def _crossed(pa: set[tuple[str, str]], pb: set[tuple[str, str]]) -> str | None:
    """One question's "from" is the other's "to", whatever the other end is called: "from PC to PlayStation"
    against "from ps to pc". Only said with both "from" and "to" ("how to move to Canada" names no source)."""
    for x, y in sorted(pa):
        for x2, y2 in sorted(pb):
            if (x == y2 or y == x2) and (x, y) != (x2, y2) and (x2, y2) not in pa and (x, y) not in pb:
                return f"{x} → {y} vs {x2} → {y2}"
    return None


def _unframed(text: str, other: set[str]) -> str:
    """The question without a greeting before it or thanks after it ("hi, …", "Hello! …", "…? please"): one or two
    words closed by a comma or "!" at the start, up to three after the last "?" at the end, none of them in the
    `other` question's words (so "Dogs, are they faster than cats?" keeps its "Dogs"). They frame a question
    without reordering it."""
    return _FRAME_RE.sub(lambda frame: "" if other.isdisjoint(words(frame.group(0))) else frame.group(0), text)


def _traded_places(ta: list[str], tb: list[str]) -> tuple[str, str] | None:
    """The two content words that swap places when everything else stays: "Celsius in Fahrenheit" against
    "Fahrenheit in Celsius". Not when they touch in either question ("docker stop" / "stop … docker" reorders a
    keyword query), are only joined by "or"/"and" (which do not order them), or one of them is listed with the
    same word in both questions: "should I use IPv4 or IPv6" / "IPv6 or IPv4, which should I use" moves the
    list, not a role in it."""
    function_words = wordlists.words("function_words.txt")
    ca = [_stem(w) for w in ta if w not in function_words]
    cb = [_stem(w) for w in tb if w not in function_words]
    if ca == cb or sorted(ca) != sorted(cb):
        return None
    moved = [i for i, (x, y) in enumerate(zip(ca, cb, strict=True)) if x != y]
    if len(moved) != 2 or ca[moved[0]] != cb[moved[1]]:
        return None
    x, y = ca[moved[0]], ca[moved[1]]
    if any(x in pair or y in pair for pair in _listed_pairs(ta) & _listed_pairs(tb)):
        return None
    for tokens in (ta, tb):
        stems = [_stem(w) for w in tokens]
        if stems.count(x) != 1 or stems.count(y) != 1:
            return None
        first, last = sorted((stems.index(x), stems.index(y)))
        if last - first == 1 or set(stems[first + 1 : last]) <= wordlists.words("coordinators.txt"):
            return None
    return x, y


def _listed_pairs(tokens: list[str]) -> set[frozenset[str]]:
    """The stems of each two words joined by "or"/"and"/"nor" ("ipv4 or ipv6"), determiners between aside."""
    joiners, determiners = wordlists.words("coordinators.txt"), wordlists.words("determiners.txt")
    kept = [w for w in tokens if w not in determiners]
    return {
        frozenset((_stem(before), _stem(after)))
        for before, joiner, after in zip(kept, kept[1:], kept[2:], strict=False)
        if joiner in joiners and before not in joiners and after not in joiners
    }


def _traded_phrases(ta: list[str], tb: list[str]) -> tuple[str, str] | None:
    """Two runs of content words, one of them longer than a word, that swap places around the same words:
    "merge main into my feature branch" against "merge my feature branch into main". The words between must
    be the same in both questions (determiners aside) and not only "or"/"and", so a keyword query said in
    another order ("reset password via email" / "email to reset password") is not a swap."""
    function_words = wordlists.words("function_words.txt")
    content_a = [i for i, w in enumerate(ta) if w not in function_words]
    content_b = [i for i, w in enumerate(tb) if w not in function_words]
    ca, cb = [_stem(ta[i]) for i in content_a], [_stem(tb[i]) for i in content_b]
    if ca == cb or sorted(ca) != sorted(cb) or len(set(ca)) != len(ca):
        return None
    start = next(i for i, (x, y) in enumerate(zip(ca, cb, strict=True)) if x != y)
    end = len(ca) - next(i for i, (x, y) in enumerate(zip(reversed(ca), reversed(cb), strict=True)) if x != y)
    for nx in range(1, end - start):
        # The words between the runs stay in place: function words only ("into"), or content words too ("the brand
        # name drug instead of the generic version" / "the generic version instead of the brand name drug").
        for nm in range(end - start - nx):
            ny = end - start - nx - nm
            x_run, middle, y_run = ca[start : start + nx], ca[start + nx : end - ny], ca[end - ny : end]
            if (nx == 1 and ny == 1) or cb[start:end] != y_run + middle + x_run:
                continue  # two single words are the rule above; otherwise not the two runs swapped
            gap_a = _gap(ta, content_a[start + nx - 1], content_a[end - ny])
            gap_b = _gap(tb, content_b[start + ny - 1], content_b[end - nx])
            if gap_a and gap_a == gap_b and not set(gap_a) <= wordlists.words("coordinators.txt"):
                x = " ".join(ta[i] for i in content_a[start : start + nx])
                y = " ".join(ta[i] for i in content_a[end - ny : end])
                return x, y
    return None


def _gap(tokens: list[str], before: int, after: int) -> list[str]:
    """The words strictly between two positions, determiners and possessives left out."""
    return [w for w in tokens[before + 1 : after] if w not in wordlists.words("determiners.txt")]


@cache
def _opposite_stems() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for a, b in wordlists.opposites():
        x, y = _stem(a), _stem(b)
        if x != y:
            out.setdefault(x, set()).add(y)
            out.setdefault(y, set()).add(x)
    return {stem: frozenset(others) for stem, others in out.items()}


def _roots(word: str) -> set[str]:
    """The stem, and for "-ing"/"-ed" after a doubled consonant the stem without it: "beginning" is "begin"."""
    stem = _stem(word)
    if stem != word and word.endswith(("ing", "ed")) and stem[-1] == stem[-2] and stem[-1] not in "aeioulsz":
        return {stem, stem[:-1]}
    return {stem}


@cache
def _clipped_opposites() -> dict[str, frozenset[str]]:
    """Clipped forms of two opposites that end alike, each clip at least three letters and neither inside the
    other: "max"/"min" (maximum/minimum), "asc"/"desc" (ascending/descending). Clips that are words with
    opposites of their own are left to those ("cold"/"warm" from coldhearted/warmhearted)."""
    listed = {w for pair in wordlists.opposites() for w in pair}
    out: dict[str, set[str]] = {}
    for p, q in wordlists.opposites():
        for x_word, y_word in ((p, q), (q, p)):
            for cut in range(_SHORT_WORD, len(x_word) - _SHORT_WORD + 1):
                ending = x_word[cut:]
                x, y = x_word[:cut], y_word[: len(y_word) - len(ending)]
                if not y_word.endswith(ending) or len(y) < _SHORT_WORD or x in y or y in x or {x, y} & listed:
                    continue
                out.setdefault(x, set()).add(y)
                out.setdefault(y, set()).add(x)
    return {clip: frozenset(others) for clip, others in out.items()}


def _clips(tokens: list[str]) -> set[str]:
    """Words that may be clipped opposites: not function words ("over", "under" are relations), not after a
    number ("5 min" is five minutes)."""
    function_words = wordlists.words("function_words.txt")
    return {
        w
        for i, w in enumerate(tokens)
        if w.isalpha() and w not in function_words and not (i and tokens[i - 1][:1].isdigit())
    }


# "from" and "to" reverse a relation only after the same word: "ship from Canada" / "ship to Canada", not "control
# the thermostat from the app" / "it isn't connecting to the app".
_RELATIONS_AFTER_ONE_WORD = frozenset({"from", "to"})


def _related(tokens: list[str]) -> set[tuple[str, str, str]]:
    """(relation word, stem of the next word that is not a determiner, stem of the word before it where the relation
    needs it, else ""): "before a run" is ("before", "run", ""), "ship to Canada" ("to", "canada", "ship")."""
    known = {w for pair in wordlists.relations() for w in pair}
    determiners = wordlists.words("determiners.txt")
    out = set()
    for i, w in enumerate(tokens):
        if w in known:
            rest = [t for t in tokens[i + 1 :] if t not in determiners]
            if rest:
                before = _stem(tokens[i - 1]) if i and w in _RELATIONS_AFTER_ONE_WORD else ""
                out.add((w, _stem(rest[0]), before))
    return out


def _opposites_of(stem: str) -> set[str]:
    out = set(_opposite_stems().get(stem, ()))
    if len(stem) < _SHORT_WORD:  # "do" / "undo"
        return out
    for prefix in wordlists.negative_prefixes():
        if stem.startswith(prefix) and len(stem) - len(prefix) >= _SHORT_WORD:
            out.add(stem[len(prefix) :])
        out.add(prefix + stem)
    for x, y in wordlists.opposite_prefixes():
        for one, other in ((x, y), (y, x)):
            if stem.startswith(one) and len(stem) - len(one) >= _SHORT_WORD:
                out.add(other + stem[len(one) :])
    return out


_POSSESSIVES = frozenset({"my", "your", "our", "their", "his", "her", "its"})
# Particles that stay particles before an article ("speed up a video"); "on" and "off" there are places ("a discount
# on the annual plan" / "money off the annual plan").
_BOUND = frozenset({"up", "down"})


def _particles(tokens: list[str]) -> set[tuple[str, tuple[str, ...]]]:
    """Particles after a word, each with the two words after it when a determiner follows (a particle or a place:
    "speed up a video", "2FA on my account"), else with none ("turn it off"); none before a possessive, which
    names a place ("pay extra off my mortgage", "on my mortgage")."""
    known = {p for pair in wordlists.particles() for p in pair}
    determiners = wordlists.words("determiners.txt")
    out = set()
    for i, w in enumerate(tokens[1:], 1):
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if w in known and after not in _POSSESSIVES:
            out.add((w, tuple(tokens[i + 1 : i + 3]) if after in determiners else ()))
    return out


def _graded(tokens: list[str]) -> set[str]:
    """The words a question grades, as WordNet's opposites list has them: comparatives and superlatives ("longer"
    and "longest" as "long", "bigger" as "big", "easier" as "easy", "larger" as "large") and words after "more" or
    "most". Only a graded word clashes with a graded opposite: "make the PDF smaller" and "the PDF is too big" ask
    the same."""
    known = _opposite_stems()
    out = set()
    for i, word in enumerate(tokens):
        stem = _stem(word)
        if i > 0 and tokens[i - 1] in ("more", "most") and stem in known:
            out.add(stem)
        for suffix in ("est", "er"):
            root = stem.removesuffix(suffix)
            if root == stem:
                continue
            bases = [root]
            if root[-2:-1] == root[-1:]:
                bases.append(root[:-1])  # bigger, hottest
            if root.endswith("i"):
                bases.append(root[:-1] + "y")  # easier, earliest
            out.update(_stem(b) for b in bases if len(b) >= _SHORT_WORD and _stem(b) in known)
    return out


def _check_opposites(a: str, b: str) -> Veto | None:
    ta, tb = words(a), words(b)
    # A word written more times on one side, its opposite more times on the other: with counts, not sets, so that a
    # word both sides have does not hide its opposite ("open the front door and open / close the back door").
    ca, cb = Counter(_stem(w) for w in ta), Counter(_stem(w) for w in tb)
    stems = ({x for x in ca if ca[x] > cb[x]}, {x for x in cb if cb[x] > ca[x]})
    graded_a, graded_b = _graded(ta), _graded(tb)
    for more_a, more_b in (stems, (graded_a - graded_b, graded_b - graded_a)):
        for x in sorted(more_a):
            clash = sorted(_opposites_of(x) & more_b)
            if clash:
                return Veto("opposites", f"'{x}' vs '{clash[0]}'")
    # A particle before a determiner counts only against its opposite before the same words: "speed up a video" /
    # "slow down a video", not "2FA on my account" / "turn off 2FA".
    pa, pb = _particles(ta), _particles(tb)
    for x, y in wordlists.particles():
        for one, other in ((pa, pb), (pb, pa)):
            for after in {after for particle, after in one if particle == x and (not after or x in _BOUND)}:
                if (y, after) in other and (x, after) not in other and (y, after) not in one:
                    return Veto("opposites", f"'{x}' vs '{y}'")
    return (
        _reversed_relation(ta, tb)
        or _opposite_roots(ta, tb)
        or _opposite_clips(ta, tb)
        or _opposite_roles(ta, tb)
        or _in_and_out_of(ta, tb)
    )


def _in_and_out_of(ta: list[str], tb: list[str]) -> Veto | None:
    """A hyphenated "in-" word against its "out-of-" word, which `words` glues, or against "out of" and the word
    written apart (and the other way round): "an in-network ATM" / "an out-of-network ATM" / "out of network",
    "in-state tuition" / "out-of-state tuition". Not "in my car" / "out of my car", where neither is one word."""
    for one, other in ((ta, tb), (tb, ta)):
        out_glued = {w.removeprefix("outof") for w in one if w.startswith("outof") and len(w) > len("outof") + 2}
        out_apart = {one[i + 2] for i in range(len(one) - 2) if one[i] == "out" and one[i + 1] == "of"}
        for stem in out_glued | out_apart:
            inside = "in" + stem
            if inside in other and inside not in one:
                return Veto("opposites", f"'in-{stem}' vs 'out-of-{stem}'")
        for stem in out_glued:
            if ("in", stem) in set(pairwise(other)) and stem not in one:
                return Veto("opposites", f"'in {stem}' vs 'out-of-{stem}'")
    return None


def _reversed_relation(ta: list[str], tb: list[str]) -> Veto | None:
    """ "before a run" against "after a run"; not "cancel before the charge" / "charged after the trial"."""
    ra, rb = _related(ta), _related(tb)
    for x, y in wordlists.relations():
        for one, other in ((ra, rb), (rb, ra)):
            for word, obj, before in one:
                if (
                    word == x
                    and (y, obj, before) in other
                    and (x, obj, before) not in other
                    and (y, obj, before) not in one
                ):
                    return Veto("opposites", f"'{x} {obj}' vs '{y} {obj}'")
    return None


def _opposite_roots(ta: list[str], tb: list[str]) -> Veto | None:
    """WordNet's opposites read with the roots of "-ing"/"-ed" words ("at the beginning" / "at the end")."""
    opposites = _opposite_stems()
    ra, rb = set().union(*map(_roots, ta)), set().union(*map(_roots, tb))
    for x in sorted(ra - rb):
        clash = sorted((opposites.get(x, frozenset()) & rb) - ra)
        if clash:
            return Veto("opposites", f"'{x}' vs '{clash[0]}'")
    return None


def _opposite_clips(ta: list[str], tb: list[str]) -> Veto | None:
    clips = _clipped_opposites()
    ca, cb = _clips(ta) - set(tb), _clips(tb) - set(ta)
    for x in sorted(ca):
        clash = sorted(clips.get(x, frozenset()) & cb)
        if clash:
            return Veto("opposites", f"'{x}' vs '{clash[0]}'")
    return None


def _roles(tokens: list[str]) -> dict[str, str]:
    """The two parties of an act, by the act: "employee" and "employees" are ("employ", "ee"), "employer" and
    "payors" ("employ", "er"), ("pay", "or")."""
    out = {}
    for word in tokens:
        word = word.removesuffix("s")
        for suffix in ("ee", "er", "or"):
            base = word.removesuffix(suffix)
            if base != word and len(base) >= _SHORT_WORD and word.isalpha():
                out[word] = base
    return out


def _opposite_roles(ta: list[str], tb: list[str]) -> Veto | None:
    """The party who acts against the one acted on, on one side each: "employer" / "employee", "payer" /
    "payee", "lessor" / "lessee" (a word in "-ee" whose act also has a word in "-er" or "-or")."""
    ra, rb = _roles(ta), _roles(tb)
    for one, other in ((ra, rb), (rb, ra)):
        for word, base in one.items():
            if not word.endswith("ee") or word in other:
                continue
            clash = sorted(w for w, b in other.items() if b == base and not w.endswith("ee") and w not in one)
            if clash:
                return Veto("opposites", f"'{word}' vs '{clash[0]}'")
    return None


# Who did what a question is about: the asker ("I cancelled my booking") or a third party ("the hotel cancelled my
# booking", "it was cancelled by the host"): read for acts told in the past ("-ed"), where a story says who acted.
# "you" is whoever the question asks. Between a doer and its act: "I just cancelled", "the host had cancelled".
_ASKER = frozenset({"i", "we", "i've", "we've", "i'd", "we'd"})
_OTHERS = frozenset({"he", "she", "they", "someone", "somebody"})
_BETWEEN_DOER_AND_ACT = frozenset(
    ["just", "already", "has", "have", "had", "accidentally", "mistakenly", "suddenly", "unexpectedly", "also"]
)


def _doers(tokens: list[str]) -> dict[str, str]:
    """stem -> "asker" or "other", for each act in the past tense whose doer comes before it ("the driver cancelled",
    "I cancelled") or after it with "by" ("cancelled by the hotel")."""
    determiners, function_words = wordlists.words("determiners.txt"), wordlists.words("function_words.txt")
    out: dict[str, str] = {}
    irregular = wordlists.irregular_verbs()
    for i, word in enumerate(tokens):
        if word in irregular and irregular[word] not in function_words:
            # "I sent money" / "someone sent me money"; not after a noun: "the emails sent from my account" describes
            if i == 0 or (tokens[i - 1] not in _ASKER and tokens[i - 1] not in _OTHERS):
                continue
            act = _stem(irregular[word])
        elif word.endswith("ed") and len(word) >= _SHORT_WORD + 2:
            act = _stem(word)
            act = act[:-1] if len(act) > _SHORT_WORD and act[-1] == act[-2] else act  # "cancelled", "canceled"
        else:
            continue
        at = i - 1
        while at >= 0 and tokens[at] in _BETWEEN_DOER_AND_ACT:
            at -= 1
        doer = tokens[at] if at >= 0 else ""
        if doer in _ASKER:
            out[act] = "asker"
        elif (
            doer in _OTHERS
            or (at >= 1 and tokens[at - 1] in determiners and doer not in function_words and not doer.endswith("ly"))
            or (tokens[i + 1 : i + 2] == ["by"] and tokens[i + 2 : i + 3] and tokens[i + 2] in determiners)
        ):
            out[act] = "other"
    return out


def _check_doer(a: str, b: str) -> Veto | None:
    da, db = _doers(words(a)), _doers(words(b))
    for stem, doer in sorted(da.items()):
        if db.get(stem, doer) != doer:
            return Veto("doer", f"'{stem}' by {doer} vs by {db[stem]}")
    return None


# Between a count word and its thing: "all of my messages", "a single contact", "this one device".
_COUNT_SKIP = frozenset({"of", "the", "my", "your", "our", "their", "his", "her", "its", "single", "one"})
_COUNT_NOT_AFTER = frozenset({"than", "least", "how", "so", "too"})  # "more than one", "how many": no count


def _counted(tokens: list[str]) -> dict[str, set[str]]:
    """thing (stemmed) -> how many of it ("one", "many") the words before it say."""
    kinds, function_words = wordlists.counts(), wordlists.words("function_words.txt")
    found: dict[str, set[str]] = {}
    for i, token in enumerate(tokens):
        kind = kinds.get(token)
        if kind is None or (i and tokens[i - 1] in _COUNT_NOT_AFTER):
            continue
        j = i + 1
        while j < len(tokens) and j <= i + 3 and tokens[j] in _COUNT_SKIP:
            j += 1
        if j < len(tokens) and tokens[j] not in function_words and not tokens[j][0].isdigit():
            found.setdefault(_stem(tokens[j]), set()).add(kind)
    return found


def _check_parties(a: str, b: str) -> Veto | None:
    found = parties.traded(a, b)
    if found is not None:
        act, doer_a, doer_b = found
        return Veto("parties", f"'{act}' done by {doer_a} vs by {doer_b}")
    return None


def _check_owner(a: str, b: str) -> Veto | None:
    found = parties.other_owner(a, b)
    if found is not None:
        thing, whose_a, whose_b = found
        return Veto("owner", f"{whose_a} {thing} vs {whose_b}")
    return None


# An exception to a rule asked for ("any exceptions to the return window", "an exception for service dogs", "exempt
# from the rate limit"), not an exception a program throws.
_EXCEPTION_RE = re.compile(r"\bexceptions?\s+(?:to|for)\b|\bexempt(?:ed|ion)?\s+from\b", re.IGNORECASE)


def _check_exception(a: str, b: str) -> Veto | None:
    """An exception to a rule asked for on one side only: "the normal return window" / "any exceptions to the return
    window", "is the rate limit the same for every endpoint" / "which endpoints are exempt from the rate limit"."""
    if (_EXCEPTION_RE.search(a) is None) != (_EXCEPTION_RE.search(b) is None):
        return Veto("exception", "an exception asked for in one question only")
    return None


def _check_count(a: str, b: str) -> Veto | None:
    """One of a thing in one question and many of it in the other: "log out of this device" / "of all devices"."""
    ca, cb = _counted(words(a)), _counted(words(b))
    for thing in sorted(ca.keys() & cb.keys()):
        if len(ca[thing]) == 1 and len(cb[thing]) == 1 and ca[thing] != cb[thing]:
            return Veto("count", f"{next(iter(ca[thing]))} {thing} vs {next(iter(cb[thing]))}")
    return None


def _check_aspects(a: str, b: str) -> Veto | None:
    found = aspects.disagreement(a, b)
    if found is not None:
        fact, only_a, only_b = found
        return Veto(fact, f"{'/'.join(only_a)} vs {'/'.join(only_b)}")
    return None


def _reply(tokens: list[str]) -> str | None:
    """ "yes" or "no" when the text opens by saying it (after words that only lead in: "please don't"), else None."""
    kinds = wordlists.replies()
    for i, token in enumerate(tokens[:3]):
        kind = kinds.get(f"{token}_{tokens[i + 1]}") if i + 1 < len(tokens) else None
        kind = kind or kinds.get(token)
        if kind != "lead-in":
            return kind
    return None


def _check_reply(a: str, b: str) -> Veto | None:
    ra, rb = _reply(words(a)), _reply(words(b))
    if ra is not None and rb is not None and ra != rb:
        return Veto("reply", f"{ra} vs {rb}")
    return None


def _check_question(a: str, b: str) -> Veto | None:
    kinds = questions.different_kinds(a, b)
    if kinds is not None:
        return Veto("question", f"{kinds[0]} vs {kinds[1]}")
    return None


def entities(text: str) -> set[str]:
    """Known names (any case) and proper nouns: capitalised words that do not start a sentence; not units. A medicine
    by its generic name, whatever name it is called by."""
    known, units, medicines = wordlists.words("entities.txt"), wordlists.units(), wordlists.medicines()
    starts = {m.group(1) for m in _SENTENCE_START_RE.finditer(text)}
    found = {w for w in words(text) if w in known or w in medicines}
    found |= {m.lower() for m in _PROPER_RE.findall(text) if m not in starts and m != "I"}
    found |= {m.lower() for m in _CAMEL_RE.findall(text)}
    found |= {m.lower() for m in _MODEL_NAME_RE.findall(text)}
    found = {medicines.get(e, e) for e in found}
    return {e for e in found if e in known or e not in units}  # "GB" is a unit, not a name


def _mentions(name: str, text_words: set[str]) -> bool:
    """ "pdf" is in "PDFs", "git" in "GitHub", "PDFs" in "pdf"; "PayPal" is not in "pay"."""
    return any(w.startswith(name) or name == w + "s" for w in text_words)


def _identifiers(text: str) -> set[str]:
    return {w for w in words(_LITERAL_RE.sub(" ", text)) if _IDENTIFIER_RE.match(w)}


def _check_identifiers(a: str, b: str) -> Veto | None:
    """The status of order a7c4e2d9 is not order 1d9e7f3a's, nor of an order in general."""
    ia, ib = _identifiers(a), _identifiers(b)
    if ia != ib:
        return Veto("identifiers", f"{sorted(ia)} vs {sorted(ib)}")
    return None


def _members(text: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for owner, member in _MEMBER_RE.findall(text):
        out.setdefault(owner.lower(), set()).add(member.lower())
    return out


def _check_members(a: str, b: str) -> Veto | None:
    """Another member of the same thing in code: "list.append" / "list.extend", "json.load" / "json.dump" (a file
    name, "config.json", is no member: both sides must name one of the same owner)."""
    ma, mb = _members(a), _members(b)
    for owner in sorted(ma.keys() & mb.keys()):
        if ma[owner].isdisjoint(mb[owner]):
            return Veto("literals", f"{owner}.{min(ma[owner])} vs {owner}.{min(mb[owner])}")
    return None


def _check_entities(a: str, b: str) -> Veto | None:
    medicines = wordlists.medicines()
    wa, wb = ({medicines.get(w, w) for w in words(text)} for text in (a, b))
    only_a = sorted(e for e in entities(a) if not _mentions(e, wb))
    only_b = sorted(e for e in entities(b) if not _mentions(e, wa))
    if only_a and only_b:
        return Veto("entities", f"{only_a} vs {only_b}")
    return None


CHECKS: tuple[Callable[[str, str], Veto | None], ...] = (
    _check_numbers,
    _check_ordinals,
    _check_glued_numbers,
    _check_literals,
    _check_identifiers,
    _check_members,
    _check_symbols,
    _check_negation,
    _check_reply,
    _check_direction,
    _check_opposites,
    _check_aspects,
    _check_count,
    _check_doer,
    _check_parties,
    _check_owner,
    _check_exception,
    _check_entities,
    _check_question,
)


def veto(a: str, b: str) -> Veto | None:
    """The first fact the two questions disagree on, or None when they agree on all of them."""
    for check in CHECKS:
        found = check(a, b)
        if found is not None:
            return found
    return None

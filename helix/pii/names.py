"""Names and places (PERSON, LOCATION) with a spaCy NER model, run only where a name could be.

Running a whole pipeline over a whole prompt costs ~30 us per character; most of a prompt cannot
hold a name. So:
- only the NER component is loaded (with the tok2vec it listens to, if any): no tagger, parser,
  attribute ruler or lemmatizer. Context words for the pattern recognizers come from the fast
  regex tokens, in both modes;
- NER runs on windows of `WINDOW_CHARS` around each capitalised word that is not a stop word or a
  tech word (sentence starts like "The", "Python", "JSON", "Stack trace" open no window) and
  around the lower-case words that could be names (`casing.py`: "ask maria gonzalez"), merged where
  they overlap, batched through `nlp.pipe`, over the cased view in which those words are capitalised;
- an entity is cut to its name-shaped part, so a name inside code is found without the code around
  it (`greet("Olga Petrova")`, `TODO(Emma Johnson)`);
- a loaded pipeline is kept per model for the process (`load_ner`), so the CLI, tests and a server
  restarting its engine do not pay the load twice.
With no model configured, `helix.pii.config.find_model()` looks for an installed English pipeline,
so names are covered by default wherever one is installed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy
import regex
import spacy
import threadpoolctl
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.tokens import Span
from thinc.api import NumpyOps

from helix.pii.casing import CALENDAR_WORDS, Lexicon, Restored, cased, restorable
from helix.pii.config import NER_OFF
from helix.pii.personal import COLUMN_SEPARATORS
from helix.pii.recognizers import TECH_WORDS, plausible_name

WINDOW_CHARS = 20  # as many names caught as with 32 on the test sets, at ~0.8x the cost
SCORE = 0.85
# A capitalised word: not glued to digits or identifiers, no inner capitals (OperationalError) other
# than the Mc/Mac/O'/D' of surnames.
_CANDIDATE = regex.compile(
    r"(?<![\p{L}\p{N}_.])(?:Mc|Mac|O'|D'|O\u2019|D\u2019)?\p{Lu}\p{Ll}[\p{Ll}'\u2019-]*(?![\p{L}\p{N}_])"
)
_NAME_TOKEN = regex.compile(r"\p{L}+(?:['\u2019.-]\p{L}+)*\.?")
_LOWER_NEXT = regex.compile(r"[ \t]+[\p{Ll}\"'/(]")
_APOSTROPHE = re.compile("['\u2019]")
_PERSON_LABELS = frozenset({"PERSON", "PER"})
_NAME_LIKE_LABELS = frozenset({"ORG", "GPE", "NORP"})
_GREETINGS = frozenset({"dear", "hi", "hello", "hey"})


def model_dir(name_or_path: str) -> Path:
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    if spacy.util.is_package(name_or_path):
        return Path(spacy.util.get_package_path(name_or_path))
    raise ValueError(
        f"bad value for 'pii.spacy_model': {name_or_path!r} is neither a folder nor an installed "
        f'spaCy package (Helix never downloads models; set it to "{NER_OFF}" for pattern-only detection)'
    )


@functools.lru_cache(maxsize=4)
def load_ner(name_or_path: str) -> Language:
    """The model's NER component (and the tok2vec it listens to, if any), loaded once per process."""
    source = model_dir(name_or_path)
    config = spacy.util.load_config(source / "config.cfg")
    pipes = list(config["nlp"]["pipeline"])
    if "ner" not in pipes:
        raise ValueError(f"bad value for 'pii.spacy_model': {name_or_path!r} has no 'ner' component")
    keep = {"ner"}
    architecture = str(config["components"]["ner"].get("model", {}).get("tok2vec", {}).get("@architectures", ""))
    if "Listener" in architecture:
        keep.add("tok2vec")
    # "strings" skips the vocabulary's 85k stored strings (16 MiB resident): the model reads hashes
    # computed from the text itself, and spaCy adds the strings of the words it meets as it meets them.
    nlp = spacy.load(source, exclude=[*(p for p in pipes if p not in keep), "strings"])
    _use_numpy_blas(nlp)
    return nlp


class _NumpyBlasOps(NumpyOps):
    """thinc's CPU ops with the matrix products of the Python layers done by numpy's BLAS. The
    `blis` that thinc uses is ~4x slower than OpenBLAS on the small products NER makes (8x288 by
    288x288: ~200 vs ~45 us here), ~20% of the NER time of a 2 KB prompt. The transition loop's own
    products stay on blis."""

    name = "numpy-blas"

    def gemm(self, x: Any, y: Any, out: Any = None, trans1: bool = False, trans2: bool = False) -> Any:
        a = x.T if trans1 else x
        b = y.T if trans2 else y
        if out is None:
            return numpy.matmul(a, b)
        numpy.matmul(a, b, out=out)
        return out


def _use_numpy_blas(nlp: Language) -> None:
    # One BLAS thread: OpenBLAS splits the larger products over every core, which on a busy 2-core
    # server made NER ~5x slower than one thread. Helix does no other heavy numpy linear algebra
    # (embeddings and the judge run in onnxruntime, which has its own threads).
    threadpoolctl.threadpool_limits(1, user_api="blas")
    ops = _NumpyBlasOps()
    for name in nlp.pipe_names:
        model = getattr(nlp.get_pipe(name), "model", None)
        for node in model.walk() if model is not None else ():
            node.ops = ops


def _could_be_name(word: str) -> bool:
    first = _APOSTROPHE.split(word.lower(), maxsplit=1)[0]  # I'm, I'd, Jane's
    # Day and month names open no window: the model calls them DATE, never a person or a place.
    return first not in STOP_WORDS and first not in TECH_WORDS and first not in CALENDAR_WORDS


# A capitalised word right before a span, not at the start of a sentence.
_NAME_BEFORE = regex.compile(r"(?<=[^\s.!?:;]\s+|[^\s.!?:;][ \t]*[,(]?\s*)(" + _CANDIDATE.pattern + r")\s+$")


def _with_first_name(text: str, start: int) -> int:
    """Small models often tag only the surname ("Tomasz [Kowalczyk]"): take in a first name before it."""
    match = _NAME_BEFORE.search(text, max(0, start - 40), start)
    if match and _could_be_name(match.group(1)):
        return match.start(1)
    return start


def _sentence_word(text: str, match: regex.Match[str], lexicon: Lexicon | None) -> bool:
    """A capitalised verb, adjective or adverb opening a sentence, before a lower-case word
    ("Stack trace from...", "File \"x.py\""): capitalised for the sentence, not a name."""
    if lexicon is None or match.group().lower() not in lexicon.verbal:
        return False
    before = text[: match.start()].rstrip(" \t\"'(")
    return (not before or before[-1] in ".!?:;\n") and bool(_LOWER_NEXT.match(text, match.end()))


def name_windows(text: str, restored: Iterable[Restored] = (), lexicon: Lexicon | None = None) -> list[tuple[int, int]]:
    """Merged spans of text around the words that could start or be part of a name: capitalised
    words (not sentence-opening verbs and adjectives), and the lower-case words the cased view
    capitalises."""
    spans = [
        m.span()
        for m in _CANDIDATE.finditer(text)
        if _could_be_name(m.group()) and not _sentence_word(text, m, lexicon)
    ]
    spans = sorted([*spans, *((r.start, r.end) for r in restored)])
    windows: list[tuple[int, int]] = []
    for first, last in spans:
        start = text.rfind(" ", 0, max(0, first - WINDOW_CHARS)) + 1
        end = text.find(" ", min(len(text), last + WINDOW_CHARS))
        end = len(text) if end < 0 else end
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], end))
        else:
            windows.append((start, end))
    return windows


def name_parts(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The name-shaped pieces of an entity span: runs of capitalised words joined by spaces, so
    `greet("Olga Petrova` gives "Olga Petrova" and `TODO(Emma Johnson` gives "Emma Johnson"."""
    groups: list[list[tuple[int, int]]] = []
    for match in _NAME_TOKEN.finditer(text, start, end):
        a, b = match.span()
        if groups and not text[groups[-1][-1][1] : a].strip(" \t"):
            groups[-1].append((a, b))
        else:
            groups.append([(a, b)])
    parts = []
    for group in groups:
        while group and not text[group[0][0]].isupper():
            group.pop(0)
        while group and not text[group[-1][0]].isupper():
            group.pop()
        if group and plausible_name(text[group[0][0] : group[-1][1]]):
            parts.append((group[0][0], group[-1][1]))
    return parts


# A person's name as a labelled value, which small models, not reading prose there, often leave untagged: an email
# header's or a form's display name ("> From: Ingrid Bergström", "Account holder: Lena Hoffmann"), a name key's
# quoted value in code or data ({"lastName": "Nowakowska"}), and the cells of a table's name column ("name,phone"
# then "Sofia Moreno,+34 612 34 56 78").
_NAME_LABEL = regex.compile(
    r"(?im)^[ \t>]*(?:from|to|cc|bcc|reply-to|sender|recipient|name|full name|customer|patient|client|contact"
    r"|(?:account |card ?)?holder)[ \t]*:[ \t]*(\p{Lu}[\p{L}'.-]*(?:[ \t]+\p{Lu}[\p{L}'.-]*){0,3})"
)
_NAME_COLUMN = regex.compile(
    r"(?im)(?:^|[,;\t|])[ \t\"']*(?:(?:full|first|last|given|family|patient|customer|client|contact|employee)[ _]?)?"
    r"(?:name|nom|nombre|nome)[ \t\"']*(?=[,;\t|]|$)"
)
# The quoted value of a name key in code or data: {"lastName": "Nowakowska"}, full_name='Ewa Nowak'.
_NAME_KEY = regex.compile(
    r"(?i)\b(?:(?:first|last|full|given|family|sur|middle|display|contact|customer|patient)[ _]?)?name"
    r"""["']?[ \t]*[:=][ \t]*["'](?-i:(\p{Lu}[\p{L}'.-]*(?:[ \t]+\p{Lu}[\p{L}'.-]*){0,3}))["']"""
)


def labelled_names(text: str, lexicon: Lexicon | None) -> list[tuple[int, int]]:
    """Spans of the names `_NAME_LABEL`, `_NAME_KEY` and `_NAME_COLUMN` find: 1-4 name-shaped words, one of them
    unknown to the dictionary ("From: Support Team" stays)."""
    spans = [m.span(1) for m in _NAME_LABEL.finditer(text)] if ":" in text else []
    if "ame" in text:  # name, Name, lastName
        spans += [m.span(1) for m in _NAME_KEY.finditer(text)]
    if "\n" in text:
        for header in _NAME_COLUMN.finditer(text):
            spans += _column_cells(text, header.start(), header.end())
    return [(a, b) for a, b in spans if _name_value(text[a:b], lexicon)]


def _name_value(value: str, lexicon: Lexicon | None) -> bool:
    words = value.replace(",", " ").split()
    if not plausible_name(" ".join(words)) or not all(_could_be_name(w) for w in words):
        return False
    return lexicon is None or any(not lexicon.known(w.lower()) for w in words)


def _column_cells(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The cells under the header cell text[start:end] in the rows that follow, up to a blank line; a cell may be
    quoted ("Okonkwo, Chidi")."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    if line_end < 0:
        return []
    header = text[line_start:line_end]
    separators = [c for c in COLUMN_SEPARATORS if c in header]
    if len(separators) != 1:
        return []
    column = _split_cells(header, 0, separators[0])
    index = next(
        (i for i, (a, b) in enumerate(column) if a <= start - line_start < b or a <= end - line_start <= b), None
    )
    cells = []
    row_start = line_end + 1
    while index is not None and row_start < len(text) and text[row_start] != "\n":
        row_end = text.find("\n", row_start)
        row_end = len(text) if row_end < 0 else row_end
        row = _split_cells(text[row_start:row_end], row_start, separators[0])
        if index < len(row):
            cells.append(row[index])
        row_start = row_end + 1
    return cells


def _split_cells(line: str, offset: int, separator: str) -> list[tuple[int, int]]:
    """(start, end) of each cell's value in `line` (offsets plus `offset`), quotes excluded."""
    cells, i = [], 0
    while i <= len(line):
        if line[i : i + 1] == '"':
            close = line.find('"', i + 1)
            close = len(line) if close < 0 else close
            cells.append((offset + i + 1, offset + close))
            i = line.find(separator, close)
        else:
            j = line.find(separator, i)
            j = len(line) if j < 0 else j
            cells.append((offset + i, offset + j))
            i = j
        if i < 0 or i >= len(line):
            break
        i += 1
    return cells


class NameRecognizer(LocalRecognizer):
    """PERSON/LOCATION from spaCy NER over `name_windows` of the cased view (`casing.py`), without
    tech words and non-name shapes."""

    name: str

    def __init__(self, nlp: Language, labels: dict[str, str], lexicon: Lexicon | None = None) -> None:
        self._nlp = nlp
        self._labels = labels
        self._lexicon = lexicon
        super().__init__(supported_entities=sorted(set(labels.values())), name="NameRecognizer")

    def load(self) -> None:
        pass  # the pipeline is loaded by load_ner()

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        restored = restorable(text, self._lexicon) if "PERSON" in entities else []
        view = cased(text, restored)
        windows = name_windows(text, restored, self._lexicon)
        results: list[RecognizerResult] = []
        docs = self._nlp.pipe([view[a:b] for a, b in windows], batch_size=32)
        for (offset, _), doc in zip(windows, docs, strict=True):
            for ent in doc.ents:
                start, end = offset + ent.start_char, offset + ent.end_char
                entity = self._entity(ent, start, end, restored)
                if self._greeted(ent):  # "Dear Siobhán" tagged as an organisation: a greeting, then the person
                    entity, start = "PERSON", offset + ent[1].idx
                if entity is None or entity not in entities:
                    continue
                for a, b in name_parts(view, start, end):
                    if entity == "PERSON":
                        a = _with_first_name(view, a)
                    results.append(self._result(entity, a, b))
        # A name key's value of 2-3 words, one unknown to the dictionary, is a name even where the
        # model, reading code, tags nothing: `"name": "lucas oliveira"`.
        results += [self._result("PERSON", r.start, r.end) for r in restored if r.keyed and r.unknown and r.words > 1]
        if "PERSON" in entities:
            results += [self._result("PERSON", a, b) for a, b in labelled_names(text, self._lexicon)]
        return results

    def _greeted(self, ent: Span) -> bool:
        """A greeting and a name the dictionary does not know, tagged as ORG/GPE/NORP ("Dear Siobhán"; not
        "Hello World")."""
        if ent.label_ not in _NAME_LIKE_LABELS or len(ent) < 2 or ent[0].lower_ not in _GREETINGS:
            return False
        return self._lexicon is not None and any(t.is_alpha and not self._lexicon.known(t.lower_) for t in ent[1:])

    def _entity(self, ent: Span, start: int, end: int, restored: list[Restored]) -> str | None:
        """The entity an NER span stands for. Spans over restored (lower-case) words count only as
        PERSON: as the model's PERSON, or as ORG/GPE/NORP over 2+ restored words ending in one the
        dictionary does not know ("Tomasz Kowalczyk" comes out as ORG as often as PERSON)."""
        label = ent.label_
        hits = [r for r in restored if r.start < end and start < r.end]
        if not hits:
            return self._labels.get(label)
        if label in _PERSON_LABELS:
            return "PERSON"
        if label in _NAME_LIKE_LABELS and len(ent) > 1 and any(end in r.unknown for r in hits):
            return "PERSON"
        return None

    def _result(self, entity: str, start: int, end: int) -> RecognizerResult:
        return RecognizerResult(
            entity_type=entity,
            start=start,
            end=end,
            score=SCORE,
            analysis_explanation=AnalysisExplanation(
                recognizer=self.name, original_score=SCORE, textual_explanation=f"spaCy NER: {entity}"
            ),
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )

"""Names and places (PERSON, LOCATION) with a spaCy NER model, run only where a name could be.

Running a whole pipeline over a whole prompt costs ~30 us per character; most of a prompt cannot
hold a name. So:
- only the NER component is loaded (with the tok2vec it listens to, if any): no tagger, parser,
  attribute ruler or lemmatizer. Context words for the pattern recognizers come from the fast
  regex tokens, in both modes;
- NER runs on windows of `WINDOW_CHARS` around each capitalised word that is not a stop word or a
  tech word (sentence starts like "The", "Python", "JSON" open no window), merged where they
  overlap, batched through `nlp.pipe`;
- a loaded pipeline is kept per model for the process (`load_ner`), so the CLI, tests and a server
  restarting its engine do not pay the load twice.
With no model configured, `helix.pii.config.find_model()` looks for an installed English pipeline,
so names are covered by default wherever one is installed.
"""

from __future__ import annotations

import calendar
import functools
from pathlib import Path

import regex
import spacy
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language

from helix.pii.config import NER_OFF
from helix.pii.recognizers import TECH_WORDS, plausible_name, trim_to_name

WINDOW_CHARS = 32
SCORE = 0.85
# A capitalised word: not glued to digits or identifiers, no inner capitals (OperationalError) other
# than the Mc/Mac/O'/D' of surnames.
_CANDIDATE = regex.compile(
    r"(?<![\p{L}\p{N}_.])(?:Mc|Mac|O'|D'|O\u2019|D\u2019)?\p{Lu}\p{Ll}[\p{Ll}'\u2019-]*(?![\p{L}\p{N}_])"
)
# Day and month names open no window: the model calls them DATE, never a person or a place.
_CALENDAR = frozenset(
    w.lower() for w in (*calendar.day_name, *calendar.month_name, *calendar.day_abbr, *calendar.month_abbr) if w
)


def _source(name_or_path: str) -> Path:
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
    source = _source(name_or_path)
    config = spacy.util.load_config(source / "config.cfg")
    pipes = list(config["nlp"]["pipeline"])
    if "ner" not in pipes:
        raise ValueError(f"bad value for 'pii.spacy_model': {name_or_path!r} has no 'ner' component")
    keep = {"ner"}
    architecture = str(config["components"]["ner"].get("model", {}).get("tok2vec", {}).get("@architectures", ""))
    if "Listener" in architecture:
        keep.add("tok2vec")
    return spacy.load(source, exclude=[p for p in pipes if p not in keep])


def _could_be_name(word: str) -> bool:
    first = regex.split(r"['\u2019]", word.lower())[0]  # I'm, I'd, Jane's
    return first not in STOP_WORDS and first not in TECH_WORDS and first not in _CALENDAR


# A capitalised word right before a span, not at the start of a sentence.
_NAME_BEFORE = regex.compile(r"(?<=[^\s.!?:;]\s+|[^\s.!?:;][ \t]*[,(]?\s*)(" + _CANDIDATE.pattern + r")\s+$")


def _with_first_name(text: str, start: int) -> int:
    """Small models often tag only the surname ("Tomasz [Kowalczyk]"): take in a first name before it."""
    match = _NAME_BEFORE.search(text, max(0, start - 40), start)
    if match and _could_be_name(match.group(1)):
        return match.start(1)
    return start


def name_windows(text: str) -> list[tuple[int, int]]:
    """Merged spans of text around the words that could start or be part of a name."""
    windows: list[tuple[int, int]] = []
    for match in _CANDIDATE.finditer(text):
        if not _could_be_name(match.group()):
            continue
        start = text.rfind(" ", 0, max(0, match.start() - WINDOW_CHARS)) + 1
        end = text.find(" ", min(len(text), match.end() + WINDOW_CHARS))
        end = len(text) if end < 0 else end
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], end))
        else:
            windows.append((start, end))
    return windows


class NameRecognizer(LocalRecognizer):
    """PERSON/LOCATION from spaCy NER over `name_windows`, without tech words and non-name shapes."""

    name: str

    def __init__(self, nlp: Language, labels: dict[str, str]) -> None:
        self._nlp = nlp
        self._labels = labels
        super().__init__(supported_entities=sorted(set(labels.values())), name="NameRecognizer")

    def load(self) -> None:
        pass  # the pipeline is loaded by load_ner()

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        windows = name_windows(text)
        results: list[RecognizerResult] = []
        docs = self._nlp.pipe([text[a:b] for a, b in windows], batch_size=32)
        for (offset, _), doc in zip(windows, docs, strict=True):
            for ent in doc.ents:
                entity = self._labels.get(ent.label_)
                if entity is None or entity not in entities:
                    continue
                start, end = trim_to_name(text, offset + ent.start_char, offset + ent.end_char)
                if entity == "PERSON" and end > start:
                    start = _with_first_name(text, start)
                if end > start and plausible_name(text[start:end]):
                    results.append(self._result(entity, start, end))
        return results

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

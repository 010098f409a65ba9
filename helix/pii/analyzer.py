"""PiiEngine: a Presidio AnalyzerEngine built once from `[pii]` config, offline, in one of two modes.

- pattern-only (no `spacy_model`): a regex tokenizer feeds Presidio, with lower-cased tokens standing
  in for lemmas so context words ("card", "phone", "iban") still raise scores.
- ner (`spacy_model` = a folder or an installed package, or unset with an English spaCy package
  installed): PERSON/LOCATION from the model's NER component, run only around words that could be
  names (`names.py`), filtered for the tech words small models mistake for people and places.

Construction is slow (hundreds of ms; seconds with a model): build it off the event loop, once.
Nothing here touches the network: tldextract gets its bundled suffix list, models load from disk
and a missing model is an error rather than a download.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import msgspec
import regex
import tldextract.tldextract as _tld
from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
from presidio_analyzer.predefined_recognizers import (
    CryptoRecognizer,
    IbanRecognizer,
    UrlRecognizer,
    UsSsnRecognizer,
)
from spacy.lang.en.stop_words import STOP_WORDS

from helix.pii.casing import load_lexicon
from helix.pii.config import PiiConfig, find_model, validate
from helix.pii.names import NameRecognizer, load_ner, model_dir
from helix.pii.recognizers import (
    CardRecognizer,
    EmailRecognizer,
    FastPhoneRecognizer,
    FilteredIpRecognizer,
    ethereum_recognizer,
)
from helix.pii.secrets import secret_recognizers

LANGUAGE = "en"
_NER_LABELS = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION"}
_NER_OPTIONAL = {"ORG": "ORGANIZATION", "NORP": "NRP"}
_TOKEN = regex.compile(r"\w+|[^\w\s]")
_CACHE_SIZE = 2048
_WARMUP = "Reach Ana Lima at ana@example.com or +44 20 7946 0958; card 4111 1111 1111 1111, ip 10.1.2.3."


class Finding(msgspec.Struct, frozen=True):
    entity_type: str
    start: int
    end: int
    score: float


# --- offline setup ----------------------------------------------------------------------------


def _offline_tldextract() -> None:
    # helix/pii/__init__.py sets TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="" before presidio is imported;
    # if something imported tldextract earlier, its module-level extractor would still fetch the list.
    # The email recognizer calls tldextract.extract(), which reads this module global on every call.
    _tld.TLD_EXTRACTOR = _tld.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)


class _LazyTokens(NlpArtifacts):
    """Regex tokens, lower-cased as lemmas, made on first use: Presidio reads them only to look for
    context words around a finding, and most texts have no finding at all."""

    _LAZY = frozenset({"tokens", "lemmas", "tokens_indices", "keywords"})

    def __init__(self, text: str, nlp_engine: NlpEngine, language: str) -> None:  # no super(): it tokenizes
        self.text = text
        self.entities = []
        self.scores = []
        self.nlp_engine = nlp_engine
        self.language = language

    def __getattr__(self, name: str) -> Any:
        if name not in _LazyTokens._LAZY:
            raise AttributeError(name)
        matches = list(_TOKEN.finditer(self.text))
        tokens = [m.group() for m in matches]
        lemmas = [t.lower() for t in tokens]
        self.tokens = tokens  # type: ignore[assignment]  # the enhancer only iterates and measures tokens
        self.tokens_indices = [m.start() for m in matches]
        self.lemmas = lemmas
        # Presidio's set_keywords(), without a method call per token: words, not stop words. A set: the
        # enhancer only tests membership, once per word around each finding.
        self.keywords = {w for w in lemmas if w.isalnum() and w not in STOP_WORDS and w != "be"}  # type: ignore[assignment]
        return getattr(self, name)


class _Enhancer(LemmaContextAwareEnhancer):
    """Presidio's context enhancer, given only the results context can change (Presidio deep-copies
    every result it is handed, then skips those), finding a match's token by bisection."""

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        with_context = {r.id for r in recognizers if r.context}

        def boostable(result: RecognizerResult) -> bool:
            meta = result.recognition_metadata or {}
            return result.score < 1.0 and meta.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY) in with_context

        todo = [r for r in raw_results if boostable(r)]
        done = [r for r in raw_results if not boostable(r)]
        if not todo:
            return done
        return done + super().enhance_using_context(text, todo, nlp_artifacts, recognizers, context)

    @staticmethod
    def _find_index_of_match_token(word: str, start: int, tokens: Any, tokens_indices: list[int]) -> int:
        # The first token that ends after `start` (Presidio: starts at it or covers it).
        i = max(0, bisect.bisect_right(tokens_indices, start) - 1)
        if i < len(tokens) and tokens_indices[i] + len(tokens[i]) <= start:
            i += 1
        if i >= len(tokens):
            raise ValueError(f"no token at {start} although one is expected")
        return i


class _TokenNlpEngine(NlpEngine):
    """Context for pattern recognizers, in both modes: regex word tokens, lower-cased as lemmas, so
    Presidio's context words ("card", "iban", "ssn") still raise scores without a model.

    spaCy's blank English tokenizer does the same job at ~1.6 ms per 1.6 KB prompt (a third of the
    whole analysis); this takes ~0.1 ms, and only for texts with a finding. Presidio only reads
    token text and offsets.
    """

    def load(self) -> None:
        pass

    def is_loaded(self) -> bool:
        return True

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        return _LazyTokens(text, self, language)

    def process_batch(  # type: ignore[override]
        self, texts: Iterable[str], language: str, batch_size: int = 1, n_process: int = 1, **_: Any
    ) -> Iterator[tuple[str, NlpArtifacts]]:
        for text in texts:
            yield text, self.process_text(text, language)

    def is_stopword(self, word: str, language: str) -> bool:
        return word in STOP_WORDS

    def is_punct(self, word: str, language: str) -> bool:
        return not word.isalnum()

    def get_supported_entities(self) -> list[str]:
        return []

    def get_supported_languages(self) -> list[str]:
        return [LANGUAGE]


# --- registry -------------------------------------------------------------------------------


def _builtin_recognizers(enabled: set[str]) -> list[EntityRecognizer]:
    table: list[tuple[str, Any]] = [
        ("EMAIL_ADDRESS", EmailRecognizer),
        ("PHONE_NUMBER", FastPhoneRecognizer),
        ("CREDIT_CARD", CardRecognizer),
        ("IBAN_CODE", IbanRecognizer),
        ("US_SSN", UsSsnRecognizer),
        ("IP_ADDRESS", FilteredIpRecognizer),
        ("CRYPTO", CryptoRecognizer),
        ("CRYPTO", ethereum_recognizer),
        ("URL", UrlRecognizer),
    ]
    return [factory() for entity, factory in table if entity in enabled]


def _custom_recognizers(cfg: PiiConfig) -> list[EntityRecognizer]:
    recognizers: list[EntityRecognizer] = []
    for i, rec in enumerate(cfg.recognizers):
        flags = regex.DOTALL | regex.MULTILINE | (0 if rec.case_sensitive else regex.IGNORECASE)
        label = rec.name or rec.entity
        patterns = [Pattern(f"{label}_{j}", p, rec.score) for j, p in enumerate(rec.all_patterns())]
        recognizers.append(
            PatternRecognizer(
                supported_entity=rec.entity,
                name=rec.name or f"Custom_{rec.entity}_{i}",
                patterns=patterns,
                context=list(rec.context),
                global_regex_flags=flags,
            )
        )
    for entity, terms in cfg.deny_lists.items():
        recognizers.append(
            PatternRecognizer(
                supported_entity=entity,
                name=f"DenyList_{entity}",
                deny_list=[t.strip() for t in terms if t.strip()],
            )
        )
    return recognizers


def _ner_labels(enabled: set[str]) -> dict[str, str]:
    labels = {label: entity for label, entity in _NER_LABELS.items() if entity in enabled}
    labels.update({label: entity for label, entity in _NER_OPTIONAL.items() if entity in enabled})
    return labels


class PiiEngine:
    """Finds PII spans in text. Thread-safe for concurrent `analyze` calls.

    `cache_size` results are kept per text digest (0 disables), because chat clients resend the
    whole history on every turn.
    """

    def __init__(self, cfg: PiiConfig, *, cache_size: int = _CACHE_SIZE) -> None:
        validate(cfg)
        _offline_tldextract()
        self.cfg = cfg
        enabled = set(cfg.entities) | cfg.custom_entities()
        recognizers = _builtin_recognizers(enabled) + secret_recognizers(enabled) + _custom_recognizers(cfg)
        model = find_model(cfg.spacy_model)
        labels = _ner_labels(enabled)
        if model is not None:
            nlp = load_ner(model)
            if labels:
                recognizers.append(NameRecognizer(nlp, labels, load_lexicon(str(model_dir(model)))))
            self.mode = f"ner ({model})"
            self.uses_ner = True
        else:
            self.mode = "pattern-only"
            self.uses_ner = False
        self.entities = sorted({e for r in recognizers for e in r.get_supported_entities()} & enabled)
        self.skipped = sorted(set(cfg.entities) - set(self.entities))  # e.g. PERSON without a model
        # Presidio treats an empty registry or entity list as "everything": never hand it one.
        self._analyzer = _analyzer(recognizers, _TokenNlpEngine()) if self.entities else None
        self._min_threshold = min([cfg.threshold_for(e) for e in self.entities] or [cfg.score_threshold])
        self._allow = {a.strip().lower() for a in cfg.allow_list if a.strip()}
        self._cache: OrderedDict[bytes, tuple[Finding, ...]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        # First use loads tldextract's suffix list, phone metadata and regex caches (~30 ms):
        # pay that here, off the request path.
        self._analyze_batch([_WARMUP])

    def analyze(self, text: str) -> list[Finding]:
        """Non-overlapping findings in order of position."""
        return self.analyze_many([text])[0]

    def analyze_many(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Like analyze() per text; batches the NLP pipeline and reuses results for repeated texts
        (chat history is resent on every turn)."""
        keys = [_digest(t) for t in texts]
        found: dict[bytes, tuple[Finding, ...]] = {}
        with self._lock:
            for key in keys:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    found[key] = self._cache[key]
        misses = {k: t for k, t in zip(keys, texts, strict=True) if k not in found and t.strip()}
        for key, findings in zip(misses, self._analyze_batch(list(misses.values())), strict=True):
            found[key] = findings
        self._remember({k: found[k] for k in misses})
        return [list(found.get(k, ())) for k in keys]

    def _analyze_batch(self, texts: list[str]) -> Iterable[tuple[Finding, ...]]:
        if self._analyzer is None:
            return [() for _ in texts]
        batch = self._analyzer.nlp_engine.process_batch(texts, LANGUAGE, batch_size=min(len(texts), 32))
        return [self._analyze_one(text, artifacts) for text, artifacts in batch]

    def _analyze_one(self, text: str, artifacts: NlpArtifacts) -> tuple[Finding, ...]:
        assert self._analyzer is not None
        results = self._analyzer.analyze(
            text,
            LANGUAGE,
            entities=self.entities,
            score_threshold=self._min_threshold,
            nlp_artifacts=artifacts,
        )
        kept = [
            Finding(r.entity_type, r.start, r.end, round(float(r.score), 4))
            for r in results
            if r.score >= self.cfg.threshold_for(r.entity_type) and not self._allowed(text[r.start : r.end])
        ]
        return tuple(resolve_overlaps(kept))

    def _allowed(self, value: str) -> bool:
        return value.strip().lower() in self._allow

    def _remember(self, entries: dict[bytes, tuple[Finding, ...]]) -> None:
        with self._lock:
            self._cache.update(entries)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)


def _analyzer(recognizers: list[EntityRecognizer], nlp_engine: NlpEngine) -> AnalyzerEngine:
    return AnalyzerEngine(
        registry=RecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE]),
        nlp_engine=nlp_engine,
        supported_languages=[LANGUAGE],
        # Whole words: substring matching lets "ip" match "zip" and "card" match "discard".
        context_aware_enhancer=_Enhancer(context_matching_mode="whole_word"),
    )


def _digest(text: str) -> bytes:
    # Keys are digests so the cache never holds prompt text.
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Keep the higher score, then the longer span, when findings overlap; sorted by start."""
    ranked = sorted(findings, key=lambda f: (-f.score, -(f.end - f.start), f.start))
    kept: list[Finding] = []
    for f in ranked:
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)

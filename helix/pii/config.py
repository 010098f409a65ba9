"""The `[pii]` config section: which entities to look for and what to do with each one.

`validate(cfg)` is called by the engine before anything is built; it raises `ValueError` with one
line naming the offending key, in the same wording as `helix.config`.
"""

from __future__ import annotations

import importlib.util
import re
from typing import Literal, get_args

import msgspec
import regex  # Presidio compiles patterns with `regex`, so validate with the same engine.

Action = Literal["redact", "mask", "hash", "block", "pseudonymize"]
OnError = Literal["block", "allow"]
ScanResponses = Literal["store", "client", "off"]
UnreadableFiles = Literal["refuse", "pass"]

ACTIONS: frozenset[str] = frozenset(get_args(Action))
ON_ERROR: frozenset[str] = frozenset(get_args(OnError))
SCAN_RESPONSES: frozenset[str] = frozenset(get_args(ScanResponses))
UNREADABLE_FILES: frozenset[str] = frozenset(get_args(UnreadableFiles))

# Pattern recognizers that need no model.
PATTERN_ENTITIES: tuple[str, ...] = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "IP_ADDRESS",
    "CRYPTO",
    "DATE_OF_BIRTH",
    "ID_NUMBER",
    "MAC_ADDRESS",
    "USERNAME",
)
SECRET_ENTITIES: tuple[str, ...] = (
    "API_KEY",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "PRIVATE_KEY",
    "JWT",
    "PASSWORD",
    "SECRET",
)
# Found only when a spaCy model is configured.
NER_ENTITIES: tuple[str, ...] = ("PERSON", "LOCATION")
# Installed spaCy packages tried, in order, when `spacy_model` is unset; "off" means pattern-only.
NER_PACKAGES: tuple[str, ...] = ("en_core_web_sm", "en_core_web_md", "en_core_web_lg")
NER_OFF = "off"
# What start-up, the banner and `helix doctor` tell a user whose names are not covered.
NAMES_HINT = (
    "run 'helix models pull' (or pip install en_core_web_sm, or set [pii] spacy_model to a spaCy pipeline folder)"
)
# Known but off by default: noisy on code and technical prose (see ARCHITECTURE.md).
OPTIONAL_ENTITIES: tuple[str, ...] = ("URL", "ORGANIZATION", "NRP")

BUILTIN_ENTITIES: frozenset[str] = frozenset(PATTERN_ENTITIES + SECRET_ENTITIES + NER_ENTITIES + OPTIONAL_ENTITIES)

# Entity names end up inside placeholders (`<PERSON_1>`), so restore relies on this shape.
_ENTITY_NAME = re.compile(r"[A-Z][A-Z0-9_]*\Z")


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class RegexRecognizerConfig(_Section):
    """A custom pattern: `[[pii.recognizers]] entity = "EMPLOYEE_ID" pattern = 'EMP-\\d{6}'`."""

    entity: str = ""
    name: str = ""
    pattern: str | None = None
    patterns: list[str] = []
    score: float = 0.8
    context: list[str] = []
    case_sensitive: bool = False

    def all_patterns(self) -> list[str]:
        return ([self.pattern] if self.pattern else []) + list(self.patterns)


class PiiConfig(_Section):
    enabled: bool = True
    spacy_model: str | None = None
    # PERSON/LOCATION need a spaCy model: spacy_model, or an installed English pipeline when it is
    # unset ("off": pattern-only even so).
    entities: list[str] = msgspec.field(default_factory=lambda: list(PATTERN_ENTITIES + SECRET_ENTITIES + NER_ENTITIES))
    default_action: Action = "redact"
    actions: dict[str, Action] = {}
    score_threshold: float = 0.4
    thresholds: dict[str, float] = {}
    allow_list: list[str] = []
    deny_lists: dict[str, list[str]] = {}
    recognizers: list[RegexRecognizerConfig] = []
    on_error: OnError = "block"
    hash_key: str | None = None
    # PII the model writes in its answers: "store" redacts it before the answer is cached (the client
    # still gets it), "client" also redacts what the client receives, "off" leaves answers alone.
    scan_responses: ScanResponses = "store"
    # Binary payloads whose text Helix cannot read (PDFs, unknown formats): "refuse" (400) or "pass"
    # them on unchecked. Images, audio and ZIP-based documents are always checked (helix/pii/binary.py).
    unreadable_files: UnreadableFiles = "refuse"

    def action_for(self, entity: str) -> Action:
        return self.actions.get(entity, self.default_action)

    def threshold_for(self, entity: str) -> float:
        return self.thresholds.get(entity, self.score_threshold)

    def custom_entities(self) -> set[str]:
        return {r.entity for r in self.recognizers} | set(self.deny_lists)

    def known_entities(self) -> set[str]:
        return set(BUILTIN_ENTITIES) | self.custom_entities()


def find_model(configured: str | None) -> str | None:
    """The spaCy model for names: the configured one, else the first installed known package; None:
    pattern-only. Cheap (no spaCy import), so start-up can report it before anything loads."""
    if configured == NER_OFF:
        return None
    if configured:
        return configured
    return next((name for name in NER_PACKAGES if importlib.util.find_spec(name) is not None), None)


def _bad(key: str, why: str) -> ValueError:
    return ValueError(f"bad value for 'pii.{key}': {why}")


def _check_entity_name(key: str, entity: str) -> None:
    if not _ENTITY_NAME.match(entity):
        raise _bad(key, f"entity names are UPPER_SNAKE_CASE (got {entity!r})")


def _check_known(key: str, entity: str, known: set[str]) -> None:
    if entity not in known:
        raise _bad(key, f"unknown entity {entity!r}; known: {', '.join(sorted(known))}")


def _check_score(key: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise _bad(key, f"must be between 0 and 1 (got {value})")


def _check_regex(key: str, pattern: str) -> None:
    try:
        compiled = regex.compile(pattern)
    except regex.error as exc:
        raise _bad(key, f"invalid regular expression: {exc}") from None
    if compiled.fullmatch(""):
        raise _bad(key, "the pattern matches the empty string")


def _validate_recognizer(index: int, rec: RegexRecognizerConfig) -> None:
    key = f"recognizers[{index}]"
    if not rec.entity:
        raise _bad(f"{key}.entity", "required (the entity type this pattern finds, e.g. EMPLOYEE_ID)")
    _check_entity_name(f"{key}.entity", rec.entity)
    if not rec.all_patterns():
        raise _bad(key, "set 'pattern' or 'patterns'")
    if rec.pattern:
        _check_regex(f"{key}.pattern", rec.pattern)
    for i, pattern in enumerate(rec.patterns):
        _check_regex(f"{key}.patterns[{i}]", pattern)
    _check_score(f"{key}.score", rec.score)


def _validate_actions(cfg: PiiConfig, known: set[str]) -> None:
    if cfg.default_action not in ACTIONS:
        raise _bad("default_action", f"{cfg.default_action!r} is not one of {', '.join(sorted(ACTIONS))}")
    for entity, action in cfg.actions.items():
        _check_known(f"actions.{entity}", entity, known)
        if action not in ACTIONS:
            raise _bad(f"actions.{entity}", f"{action!r} is not one of {', '.join(sorted(ACTIONS))}")


def validate(cfg: PiiConfig) -> None:
    """Raise ValueError naming the first bad key; return None when the section is usable."""
    for i, rec in enumerate(cfg.recognizers):
        _validate_recognizer(i, rec)
    for entity, terms in cfg.deny_lists.items():
        _check_entity_name(f"deny_lists.{entity}", entity)
        if not any(t.strip() for t in terms):
            raise _bad(f"deny_lists.{entity}", "list at least one term")
    known = cfg.known_entities()
    for i, entity in enumerate(cfg.entities):
        _check_known(f"entities[{i}]", entity, known)
    _validate_actions(cfg, known)
    _check_score("score_threshold", cfg.score_threshold)
    for entity, value in cfg.thresholds.items():
        _check_known(f"thresholds.{entity}", entity, known)
        _check_score(f"thresholds.{entity}", value)
    if cfg.scan_responses not in SCAN_RESPONSES:
        raise _bad("scan_responses", f"{cfg.scan_responses!r} is not one of client, off, store")
    if cfg.unreadable_files not in UNREADABLE_FILES:
        raise _bad("unreadable_files", f"{cfg.unreadable_files!r} is not one of pass, refuse")
    if cfg.on_error not in ON_ERROR:
        raise _bad("on_error", f"{cfg.on_error!r} is not one of block, allow")
    if cfg.hash_key is not None and len(cfg.hash_key) < 16:
        raise _bad("hash_key", "use at least 16 characters (or leave it unset to derive one)")
    if cfg.spacy_model is not None and not cfg.spacy_model.strip():
        raise _bad("spacy_model", "empty; leave it unset for pattern-only detection")

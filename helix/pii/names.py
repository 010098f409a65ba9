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
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy
import phonenumbers
import regex
import spacy
import threadpoolctl
from phonenumbers.geocoder import country_name_for_number
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.tokens import Span
from thinc.api import NumpyOps

from helix.pii.casing import (
    CALENDAR_WORDS,
    NAME_PARTS,
    RELATIONS,
    Lexicon,
    Restored,
    cased,
    given_and_surname,
    restorable,
)
from helix.pii.config import NER_OFF
from helix.pii.language import in_foreign_line, stop_words
from helix.pii.personal import column_cells, street_addresses
from helix.pii.recognizers import TECH_WORDS, plausible_name
from helix.pii.tables import sql_cells

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
_PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
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
_NAME_BEFORE = regex.compile(r"(?<=[^\s.!?:;]\s+|[^\s.!?:;][ \t]*[,(]?\s*)(" + _CANDIDATE.pattern + r")[ \t]+$")


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


# The lower-case words inside a name: "Marieke de Vries", "Jan van der Berg", "Omar bin Laden".
_PARTICLES = r"de|van|von|der|den|da|di|del|della|dos|das|du|le|la|bin|ibn|al"
_PARTICLE = r"(?:(?:" + _PARTICLES + r")[ \t]+){0,2}"

# Qualifiers of a key, label or column that holds a part of a person's name and nothing else (last_name, givenName,
# "Surname:", a `forename` column): its value is taken even when it is a dictionary word (`labelled_names`).
_PERSON_QUALIFIERS = r"first|last|given|family|sur|middle|maiden|fore"

# A person's name as a labelled value, which small models, not reading prose there, often leave untagged: an email
# header's or a form's display name ("> From: Ingrid Bergström", "Account holder: Lena Hoffmann", a surname first:
# "Patient: Garcia, Maria", "Passenger: SMITH, JOHN A."), a name key's
# quoted value in code or data ({"lastName": "Nowakowska"}), and the cells of a table's name column ("name,phone"
# then "Sofia Moreno,+34 612 34 56 78").
# A label may carry a qualifier ("Full legal name:", "Emergency contact:", "Ship to:") or name who the person is to the
# form (a claimant, a ticket's requester, an employee: "Mitarbeiterin").
# Labels that name a person wherever they stand ("P45 details: Employee: Callum MacLeod, NI number ..."); the others
# (a mail header's words, which are prepositions too, and labels that also name things: a driver, a client, a
# contact) only at the start of a line.
_PERSON_LABELS_ANYWHERE = (
    r"(?P<part>(?:" + _PERSON_QUALIFIERS + r")[ \t]*name|prénom|apellidos?|cognome"
    r"|vorname|nachname|voornaam|achternaam|imię|nazwisko)"
    r"|(?:full |legal |full legal )?name|customer|patient(?: intake| record| details)?|claimant"
    r"|request(?:er|or)|employee|mitarbeiter(?:in)?"
    r"|passenger|beneficiary|payee|applicant|insured|(?:account |card ?|policy ?)?holder"
    # the insured in French, German, Spanish, Portuguese, Italian and Dutch too
    r"|assurée?|versicherte[rn]?|asegurad[oa]|segurad[oa]|assicurat[oa]|verzekerde"
    r"|nom|nombre|nome|naam|nabywca|odbiorca"
)
_VALUE_AFTER_LABEL = (
    # the name's capitals matched as such: a lower-case word after it ends it ("Anna Berg, geb. 1990"), unless it is
    # a particle inside the name ("Bruno de Vries")
    r"(?-i:(?P<value>\p{Lu}[\p{L}'.-]*(?:,?[ \t]+" + _PARTICLE + r"\p{Lu}[\p{L}'.-]*){0,3}))"
)
_NAME_LABEL = regex.compile(
    r"(?im)^[ \t>]*(?:from|(?:ship |bill |sold |deliver )?to|cc|bcc|reply-to|sender|recipient"
    # a mail header's From and To in German, Dutch, French, Spanish, Portuguese, Italian, Polish and Swedish
    r"|von|an|van|aan|de|para|da|od|do|från|till"
    r"|(?:emergency |primary )?contact|client|tenant|guest|travell?er"
    # a vehicle's driver in French, German, Spanish, Portuguese, Italian and Dutch too
    r"|driver|conducteur|fahrer(?:in)?"
    r"|" + _PERSON_LABELS_ANYWHERE + r")[ \t]*:[ \t]*" + _VALUE_AFTER_LABEL
)
# The same labels inside a line, looked for only before a colon (an alternation of labels tried at every position of
# a prompt costs ~20x as much as finding its colons).
_PERSON_LABEL_BEFORE = regex.compile(r"(?i)(?<![\p{L}\p{N}_-])(?:" + _PERSON_LABELS_ANYWHERE + r")[ \t]*\Z")
_LABELLED_VALUE = regex.compile(r"[ \t]*" + _VALUE_AFTER_LABEL)
_NAME_COLUMN = regex.compile(
    r"(?im)(?:^|[,;\t|])[ \t\"']*(?:(?P<part>(?:" + _PERSON_QUALIFIERS + r")[ _]?name)"
    r"|(?:(?:full|first|last|given|family|patient|customer|client|contact|employee)[ _]?)?(?:name|nom|nombre|nome)"
    r"|first|last)[ \t\"']*(?=[,;\t|]|$)"
)
_PERSON_PART = r"(?P<part>" + _PERSON_QUALIFIERS + r")"
# A name's key in Dutch, Portuguese, Italian, Spanish, French, German and Polish (its part, or the whole name).
_OTHER_NAME_PART = r"(?P<part_key>sobrenome|apellidos?|cognome|pr[ée]nom|vorname|nachname|voornaam|achternaam"
_OTHER_NAME_PART += r"|imi[eę]|nazwisko)"
_OTHER_NAME_KEYS = r"naam|nome|nombre|nom|" + _OTHER_NAME_PART
# Substrings that each of those keys holds (a test of them all ~1 us a 2 KB prompt; a case-insensitive regex took 175).
_OTHER_NAME_KEY_HINTS = ("naam", "nom", "imie", "imię", "nazwisko", "apellido", "vorname", "nachname")
# The quoted value of a name key in code or data: {"lastName": "Nowakowska"}, full_name='Ewa Nowak'.
_NAME_VALUE = (
    r"""["']?[ \t]*[:=][ \t]*["'](?-i:(?P<value>\p{Lu}[\p{L}'.-]*(?:[ \t]+"""
    + _PARTICLE
    + r"""\p{Lu}[\p{L}'.-]*){0,3}))["']"""
)
_NAME_KEY = regex.compile(
    r"(?i)\b(?:(?:" + _PERSON_PART + r"|full|display|contact|customer|patient)[ _]?)?name" + _NAME_VALUE
)
# In a pattern of its own: an alternation of keys in front of `name` kept `regex` from skipping to each "name" (9 us a
# 2 KB prompt became 185).
_OTHER_NAME_KEY = regex.compile(r"(?i)\b(?:" + _OTHER_NAME_KEYS + r")" + _NAME_VALUE)


# A name's part under a key of its own in code ({first: 'Moana', last: 'Kealoha'}): quoted, so "first: Open the app"
# is no name.
_PART_KEY = regex.compile(
    r"""(?i)(?<![\w-])(?P<part>first|last|given|family|middle|maiden)["']?[ \t]*[:=][ \t]*["']"""
    r"""(?-i:(?P<value>\p{Lu}[\p{L}'.-]*(?:[ \t]+\p{Lu}[\p{L}'.-]*){0,2}))["']"""
)
# Keys whose value is a person in data and logs ({"owner": "Sunita Deshpande"}, cardholder="Naledi Dlamini"), when it
# is a given name and a surname at least: one word there is as often a user name or a team.
_ROLE_KEY = regex.compile(
    r"""(?i)(?<![\w-])(?:owner|(?:card|account)[ _-]?holder|assignee|reporter|organi[sz]er|attendee|signatory"""
    r"""|guarantor)["']?[ \t]*[:=][ \t]*["']"""
    r"""(?-i:(?P<value>\p{Lu}[\p{L}'.-]*(?:[ \t]+""" + _PARTICLE + r"""\p{Lu}[\p{L}'.-]*){1,3}))["']"""
)
_ROLE_KEY_HINTS = ("owner", "holder", "assignee", "reporter", "organi", "attendee", "signatory", "guarantor")
# A name key's value in a form's URL encoding (first_name=Ewa&last_name=Nowakowska, name=Giorgos+Antoniou) or in
# fields joined by bars or semicolons (FirstName=Ingrid|LastName=Solberg).
_FORM_NAME_KEY = regex.compile(
    r"(?i)(?<![^\s?&|;])(?:(?:" + _PERSON_PART + r"|full)_?)?name="
    r"(?-i:(?P<value>\p{Lu}[\p{L}'-]*(?:\+\p{Lu}[\p{L}'-]*){0,3}))(?=[&|;\s]|$)"
)
# A calendar invite's or a directory entry's common name before an address or a unit (CN=Shreya Bhattacharya:mailto:...,
# CN=Jan Smit,OU=Sales); a group's is before its container (CN=Domain Admins,CN=Users).
_COMMON_NAME = regex.compile(
    r"(?<![\w-])CN=(?P<value>\p{Lu}[\p{L}'.-]*(?:[ \t]+\p{Lu}[\p{L}'.-]*){1,3})(?=:mailto:|,OU=)"
)


def labelled_names(text: str, lexicon: Lexicon | None) -> list[tuple[int, int]]:
    """Spans of the names that labels, keys and table columns name (`_NAME_LABEL`, `_NAME_KEY`, `_FORM_NAME_KEY`,
    `_NAME_COLUMN`...): 1-4 name-shaped words, one of them unknown to the dictionary ("From: Support Team" stays),
    unless the key, label or column holds a part of a person's name and nothing else ("last_name=Albuquerque",
    "Given name: Hope", a `surname` column). A label's value that is no name up to its comma may be one before it
    ("Name: Reto Brunner, IBAN ...")."""
    matches = list(_NAME_LABEL.finditer(text)) if ":" in text else []
    if "ame" in text:  # name, Name, lastName
        matches += _NAME_KEY.finditer(text)
        if "ame=" in text:
            matches += _FORM_NAME_KEY.finditer(text)
    lowered = text.lower()
    if any(hint in lowered for hint in _OTHER_NAME_KEY_HINTS):
        matches += _OTHER_NAME_KEY.finditer(text)
    if "first" in lowered or "last" in lowered or "given" in lowered or "family" in lowered:
        matches += _PART_KEY.finditer(text)
    if any(hint in lowered for hint in _ROLE_KEY_HINTS):
        matches += _ROLE_KEY.finditer(text)
    if "CN=" in text:
        matches += _COMMON_NAME.finditer(text)
    spans = [(*m.span("value"), any(m.groupdict().get(g) is not None for g in ("part", "part_key"))) for m in matches]
    spans += _labels_inside_lines(text)
    if "\n" in text:
        for header in _NAME_COLUMN.finditer(text):
            person = header.group("part") is not None
            spans += [(a, b, person) for a, b in column_cells(text, header.start(), header.end())]
    found = set()
    for a, b, person in spans:
        comma = text.find(",", a, b)
        for end in (b, comma) if comma > a else (b,):
            if _name_value(text[a:end].replace("+", " "), lexicon, person):  # a form's "+" is a space
                found.add((a, end))
                break
    return sorted(found)


def _labels_inside_lines(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, a part of a name) of the values of `_PERSON_LABELS_ANYWHERE` after other text on their line ("P45
    details: Employee: Callum MacLeod")."""
    spans = []
    colon = text.find(":")
    while colon != -1:
        before = text[max(0, colon - 2) : colon].rstrip()  # a label's last letter, or a space or two before the colon
        label = _PERSON_LABEL_BEFORE.search(text, max(0, colon - 40), colon) if before[-1:].isalpha() else None
        if label is not None and (value := _LABELLED_VALUE.match(text, colon + 1)) is not None:
            spans.append((*value.span("value"), label.group("part") is not None))
        colon = text.find(":", colon + 1)
    return spans


def _name_value(value: str, lexicon: Lexicon | None, person: bool = False) -> bool:
    words = value.replace(",", " ").split()
    if len(words) > 2 and any(w in _NAME_PARTICLES for w in words[1:-1]):  # "Jan van der Berg": a person's
        words, person = [w for w in words if w not in _NAME_PARTICLES], True
    # A form's surname in capitals ("Nom : LEFÈVRE"): 4+ letters a word, or an initial.
    if all(w.isupper() for w in words):
        if lexicon is None or any((len(w) < 4 and not _INITIAL.match(w)) or w.lower() in _CAPS_JARGON for w in words):
            return False
        words = [w.capitalize() for w in words]
    if not plausible_name(" ".join(words)) or not all(_could_be_name(w) for w in words):
        return False
    lowered = [w.lower() for w in words]
    return person or lexicon is None or any(not lexicon.known(w) for w in lowered) or given_and_surname(lowered)


_INITIAL = regex.compile(r"\p{Lu}\.?$")


# Names the model misses, found by what surrounds them:
# - a name after the words that introduce one in English, Spanish, Italian, French, German or Portuguese ("me llamo",
#   "mi chiamo"): lower-case words too ("my name is siddharth iyer"); after weaker words ("soy", "sono", "ich bin",
#   "holder") capitalised ones only;
_INTRO_STRONG = (
    r"my name is|my name's|me llamo|mi nombre es|mi chiamo|il mio nome è|je m'appelle|je m\u2019appelle|mon nom est"
    r"|ich heiße|ich heisse|mein name ist|meu nome é|chamo-me|me chamo"
    r"|mijn naam is|ik heet|jag heter|jmenuji se|nazywam się|mă numesc|ma numesc|με λένε"  # round 7
)
# Who did something to a ticket or a request ("escalated by Thandiwe Mokoena"): a bare "by" is SQL's and code's too.
_DONE_BY = (
    r"(?:escalated|approved|reported|submitted|requested|raised|opened|handled|referred|signed|authorised|authorized)"
    r" by"
)
_INTRO_WEAK = (
    r"soy|sono|je suis|ich bin|ik ben|eu sou|holder|new hire|nuevo empleado|la señora|el señor|signora|signor|frau|herr"
    r"|it's|it\u2019s|this is|customer|client|assigned to|escalated to|i'm|i\u2019m|i am|adım|"  # noqa: RUF001
    + _DONE_BY
    # the undersigned of a declaration, in Italian, Romanian, French, Spanish, Dutch, German and English
    + r"|sottoscritt[oa]|subsemnat(?:ul|a)|soussignée?|abajo firmante|ondergetekende|unterzeichnender?|undersigned"
    # set P: forms of address in Spanish, Dutch and French, and a patient or a participant named in a record
    + r"|doña|meneer|mevrouw|monsieur|madame|mme|m\.|patient(?:in)?|paciente|paziente|teilnehmer(?:in)?|participante?"
)
# - and, as weak cues too, a letter's sign-off (on the line before the name as well) and a relation ("my colleague
#   Brigitte", "our Tokyo colleague Haruto Sato": a colleague is a person whoever's it is, a partner or a manager may be
#   a company): a pattern of their own, tried only where one of its hints starts (each cue starts with one);
_RELATIONS = ("boss", "manager", "partner", "friend", "neighbour", "neighbor", "landlord", "tenant")  # and casing's
_SIGNOFF_CUES = (
    *("regards", "groeten", "groet", "pozdrawiam", "saludos", "saluti", "atenciosamente"),
    *("cordialement", "grüße", "grüsse", "pozdravem", "saygılarımla"),  # noqa: RUF001
    *("saludo", "grüßen", "gruß", "cumprimentos"),  # round 9: "Un saludo,", "Mit freundlichen Grüßen"
    *(f"my {relation}" for relation in (*_RELATIONS, *sorted(RELATIONS))),
    *("colleague", "coworker", "co-worker", "kollege", "kollegin", "collègue", "collega"),
)
_CUED_NAME = (
    r"[ \t]*[:,]?(?:[ \t]+|[ \t]*\n[ \t]*)"
    r"(?P<name>\p{L}[\p{L}'\u2019-]+(?:[ \t]+" + _PARTICLE + r"\p{L}[\p{L}'\u2019-]+){0,2})"
)
_INTRO = regex.compile(r"(?i:\b(?P<cue>" + _INTRO_STRONG + "|" + _INTRO_WEAK + r"))" + _CUED_NAME)
_SIGNOFF = regex.compile(r"(?i:\b(?P<cue>" + "|".join(map(regex.escape, _SIGNOFF_CUES)) + r"))" + _CUED_NAME)
_STRONG_CUES = frozenset(c.replace("\\", "") for c in _INTRO_STRONG.split("|"))
# - a closing's name, alone on its line or at the end ("Thanks, Emily", "Best,\nInes Moreau"): the comma is needed
#   ("the best Italian place" closes nothing);
_CLOSING_CUES = ("thanks", "thank you", "cheers", "best", "sincerely", "warmly", "take care")
_CLOSING = regex.compile(
    r"(?i:\b(?:" + "|".join(_CLOSING_CUES) + r")(?: wishes| again| so much| in advance)?)"
    r"[ \t]*,(?:[ \t]+|[ \t]*\n[ \t]*)"
    r"(?P<name>\p{Lu}[\p{L}'\u2019-]+(?:[ \t]+" + _PARTICLE + r"\p{Lu}[\p{L}'\u2019-]+){0,2})[ \t]*[.!]?[ \t]*(?=\n|$)"
)
_CAMEL = regex.compile(r"(?<!\bMa?c)\p{Ll}\p{Lu}")
# - two capitalised words joined by a name's particles in prose ("onboarding for Marieke de Vries", "driver Wei de
#   Vries"), at least one of them unknown to the dictionary; not after a word that puts a place there ("the weather in
#   Rio de Janeiro", "visit the Museo del Prado");
_JOINING = ("de", "van", "von", "der", "den", "da", "di", "del", "della", "dos", "das", "du", "ter", "ten")
_JOINED_NAME = regex.compile(
    r"(?<![\p{L}\p{N}_.@/-])(?P<name>\p{Lu}\p{Ll}+[ \t]+(?:(?:" + "|".join(_JOINING) + r")[ \t]+){1,2}\p{Lu}\p{Ll}+)"
    r"(?![\p{L}\p{N}_@-])"
)
_JOINED_HINTS = tuple(f" {p} " for p in _JOINING)
_JOINED_REACH = 48  # characters either side of a particle: two words of a name and two particles
_PLACE_BEFORE = regex.compile(
    r"(?i:\b(?:in|at|near|the|a|an|around|across|through|visit|visiting|via|of|en|à|au|aux|dans|nach|im|zum|zur|bei)"
    r"[ \t]+$)"
)
_PRESENTING = frozenset({"it's", "this is"})
_PRESENTED_END = regex.compile(r"[ \t]*(?:[,.!]|\n|$|(?:from|here)\b)")
# - 1-2 capitalised words opening a sentence before a verb of saying ("Priya said I should email you");
_SAYING = ("said", "says", "told", "asked", "mentioned", "suggested", "recommended", "promised", "wrote", "emailed")
_SAID = regex.compile(
    r"(?:^|(?<=[.!?\n][ \t]{0,3}))(?P<name>\p{Lu}\p{Ll}+(?:[ \t]+\p{Lu}[\p{L}'\u2019-]+)?)[ \t]+"
    r"(?:" + "|".join(_SAYING) + r")\b",
    regex.MULTILINE,
)
# - a login of a first and a last name ("zoltan.kovacs") as a user key's value, before "@host" in an ssh command or
#   after a mention's "@";
_USERNAME = regex.compile(
    r"(?i:\b(?:user(?:[ _-]?name)?|login|uid|author|owner|assignee|committer|account)\b[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"|\bssh[ \t]+(?:-\w+[ \t]+(?:\d+[ \t]+)?)*|(?<![\w.@])@)(?P<login>\p{Ll}{2,}[._]\p{Ll}{2,})(?P<at>@?)"
    r"(?![\p{L}\p{N}_.-])"
)
# - a mail header's quoted display name before its address ('"Okafor, Chinedu" <c.okafor@...>', RFC 5322), and the
#   2-3 capitalised words opening a signature after its "--" line (RFC 3676), a title before them left out;
_DISPLAY_NAME = regex.compile(r'"(\p{Lu}[\p{L}\'\u2019-]+(?:,?[ \t]+\p{Lu}[\p{L}.\'\u2019-]*){1,2})"[ \t]*<[^<>\s@]+@')
_SIGNATURE = regex.compile(
    r"(?m)^--[ \t]*\n[ \t]*(?:(?:Dr|Prof|Mr|Mrs|Ms|Mx|Ing|Mag)\.?[ \t]+)?"
    r"(\p{Lu}[\p{L}\'\u2019-]+(?:[ \t]+\p{Lu}[\p{L}\'\u2019-]+){1,2})[ \t]*$"
)
# - 2-3 capitalised words as the whole text of an HTML element ("<td>Henrik Lindqvist</td>") or as a quoted value
#   in a SQL VALUES list;
_ELEMENT_TEXT = regex.compile(r">[ \t]*(\p{Lu}\p{Ll}+(?:[ \t]+\p{Lu}\p{Ll}+){1,2})[ \t]*</")
_SQL_VALUES = regex.compile(r"(?i:\bvalues\b)[^;]{0,2000}")
_SQL_STRING = regex.compile(r"'(\p{Lu}\p{Ll}+(?:[ \t]+\p{Lu}\p{Ll}+){1,2})'")
# A single word, too, where the INSERT's column list names it a name: (last_name, first_name) VALUES ('Okonkwo',
# 'Chidi').
# A bare "name" column names cities and products as often as people: one word there needs a person's column.
_NAME_COLUMN_NAME = regex.compile(
    r"(?i)^[\"`\[]?(?:(?:"
    + _PERSON_PART
    + r"|full|patient|customer|contact)[ _]?name|first|last|"
    + _OTHER_NAME_PART
    + r")[\"`\]]?$"
)
# - 2-3 words in capitals ("ANA GONZALEZ") in a line that also has lower-case letters (a shouted line is not a
#   name), or as a label's value ("TO: DMITRI VOLKOV").
_CAPS_RUN = regex.compile(r"(?<![\p{L}\p{N}_.-])\p{Lu}{2,}(?:[ \t]+\p{Lu}{2,}){1,2}(?![\p{L}\p{N}_.-])")
# - a name as airlines and hotels print it, surname first, a slash, then given names and a title ("DOE/JANE MS",
#   "NGUYEN/THANH MR"): the title is needed ("READ/WRITE" is no name) and must end the capitals ("READ/WRITE MS SQL").
_TICKET_NAME = regex.compile(
    r"(?<![\p{L}\p{N}_./-])(?P<name>\p{Lu}{2,}(?:[ -]\p{Lu}{2,})?/\p{Lu}{2,}(?:[ ]\p{Lu}{2,})?)"
    r"[ ]+(?:MRS|MR|MS|MISS|MSTR|DR|MX)(?![\p{L}\p{N}_./-])(?![ \t]*\p{Lu}{2})"
)
# - 1-2 capitalised words after a title ("Dear Mr. Fitzgerald", "Dr. Okonkwo");
_TITLES = ("Mr", "Mrs", "Ms", "Mx", "Miss", "Dr", "Prof")
_TITLE_BEFORE = regex.compile(r"\b(?:" + "|".join(_TITLES) + r")\.?[ \t]+$")
_TITLED = regex.compile(
    r"\b(?:" + "|".join(_TITLES) + r")\.?[ \t]+(?P<name>\p{Lu}[\p{L}'\u2019-]+(?:[ \t]+\p{Lu}[\p{L}'\u2019-]+)?)"
)
# The function words of the other languages prompts come in: an English model reading them tags some as names
# ("Unter den Linden", "Der Zug nach München").
# Cheap first checks (substrings of the lower-cased text, and two capitals in a row): each pattern above, run over
# every text, would cost ~3-7 us; most texts hold none of these words.
_INTRO_HINTS = (
    *("name", "nombre", "nome", "nom est", "llamo", "chiamo", "appelle", "heiße", "heisse", "chamo", "soy ", "sono "),
    *("suis ", "ich bin", "ik ben", " sou "),
    *("holder", "new hire", "empleado", "señor", "signor", "frau ", "herr ", "it's", "it\u2019s", "this is"),
    *("ed by", "customer", "client", "assigned to", "escalated to"),
    *("doña", "meneer", "mevrouw", "monsieur", "madame", "mme", "m. ", "patient", "paciente", "paziente", "teilnehmer"),
    *("participant",),
    *("naam is", "ik heet", "heter", "jmenuji", "nazywam", "numesc", "λένε", "i'm", "i\u2019m", "i am", "adım"),  # noqa: RUF001
    *("sottoscritt", "subsemnat", "soussign", "firmante", "ondergetekende", "unterzeichnende", "undersigned"),
)
# - a Chinese, Japanese or Korean name after a form's name label (姓名, 氏名, 名前, 이름, 성명) or before a Japanese
#   honorific ("山田 太郎 様"): two to four characters, a space between family and given name allowed.
#   A Chinese speaker's own name after 本人 ("the undersigned", "I") or 我叫/我是 ("I am called", "I am"): those start
#   many other sentences ("本人承诺"), so the name must start with one of the common surnames and end the phrase.
_CHINESE_SURNAMES = (
    "王李张張刘劉陈陳杨楊黄黃赵趙吴吳周徐孙孫马馬朱胡郭何林罗羅高郑鄭梁谢謝宋唐许許韩韓冯馮邓鄧曹彭曾萧蕭蔡潘田董袁于余"
    "叶葉蒋蔣杜苏蘇魏程吕呂丁沈任姚卢盧傅钟鍾姜崔谭譚陆陸汪范金石廖贾賈夏韦韋方白邹鄒孟熊秦邱江尹薛雷侯龙龍史陶黎贺賀"
    "顾顧毛郝龚龔邵万萬钱錢严嚴武戴莫孔向汤湯欧歐"
)
_CJK_LABELLED = regex.compile(
    r"(?:姓名|氏名|名前|이름|성명)[ \t:\uff1a]*"
    r"(?P<name>\p{Han}{2,4}|\p{Hangul}{2,4}|\p{Han}{1,2}[ \u3000]\p{Han}{1,3})(?![\p{Han}\p{Hangul}])"
    r"|(?<![\p{Han}])(?P<name>\p{Han}{1,3}[ \u3000]?\p{Han}{1,3})[ \u3000]?(?:様|さま|さん)"
    rf"|(?:本人|我叫|我是)(?P<name>[{_CHINESE_SURNAMES}]\p{{Han}}{{1,2}})(?![\p{{Han}}])"
)
_CJK_NAME_HINTS = ("姓名", "氏名", "名前", "이름", "성명", "様", "さま", "さん", "本人", "我叫", "我是")
_AFTER_MENTION = frozenset((*" \t,:;!?)", ""))  # "" : the text's end
_USERNAME_HINTS = ("user", "login", "uid", "author", "owner", "assignee", "committer", "account", "ssh", "@")
_CAPS_HINT = re.compile(r"[A-Z][A-Z]")
_FOREIGN_FUNCTION_WORDS = (
    frozenset().union(*map(stop_words, ("de", "es", "it", "fr", "pt")))
    - frozenset({"mia", "dan", "will", "ana", "eva", "gal", "sara"})
) | frozenset({"gleis", "ankunft", "abfahrt", "uhr", "hauptbahnhof", "bahnhof"})


def _unknown_words(words: list[str], lexicon: Lexicon | None) -> bool:
    return lexicon is None or any(not lexicon.known(w.lower()) for w in words)


def _name_words(value: str, lexicon: Lexicon | None, capitalised: bool) -> bool:
    words = value.split()
    if any(w.lower() in STOP_WORDS or w.lower() in TECH_WORDS or w.lower() in CALENDAR_WORDS for w in words):
        return False
    if capitalised and not all(w[0].isupper() for w in words if len(w) > 3):
        return False
    # A word in capitals is read as a name's ("MY NAME IS HAROLD FINCHLEY"), not an acronym's.
    titled = " ".join(w.capitalize() if w.isupper() and len(w) > 2 else w[0].upper() + w[1:] for w in words)
    return plausible_name(titled) and _unknown_words(words, lexicon)


def _name_part(word: str, lexicon: Lexicon | None) -> bool:
    return lexicon is None or not lexicon.known(word) or word in NAME_PARTS


_WORD = re.compile(r"\S+")  # compiled once: `regex`'s own cache lookup costs ~5 us a call


def _signoffs(text: str, lowered: str) -> list[regex.Match[str]]:
    """`_SIGNOFF`'s matches: tried where one of its cues starts, or over the whole text when lower-casing changed
    its length."""
    if len(lowered) != len(text):
        return list(_SIGNOFF.finditer(text))
    starts: set[int] = set()
    for cue in _SIGNOFF_CUES:
        at = lowered.find(cue)
        while at != -1:
            starts.add(at)
            at = lowered.find(cue, at + 1)
    return [match for at in sorted(starts) if (match := _SIGNOFF.match(text, at)) is not None]


# - a line of two to four name words right above a street address: an address block's addressee (a letter's head, a
#   shipping label's "SHIP TO"), which the model, reading no sentence, often leaves untagged. The street is looked for
#   only on the line after such a line.
_ADDRESSEE = regex.compile(
    r"(?m)^[ \t]*(?P<name>\p{Lu}[\p{L}'\u2019.-]*(?:[ \t]+"
    + _PARTICLE
    + r"\p{Lu}[\p{L}'\u2019.-]*){1,3})[ \t]*,?[ \t]*\r?\n[ \t]*(?P<next>[^\n]+)"
)


def addressed_names(text: str, lexicon: Lexicon | None) -> list[tuple[int, int]]:
    """The addressee on the line above each street address that starts a line."""
    if "\n" not in text:
        return []
    names = []
    for line in _ADDRESSEE.finditer(text, overlapped=True):
        if any(start == 0 for start, _ in street_addresses(line.group("next"))) and _name_value(
            line.group("name"), lexicon
        ):
            names.append(line.span("name"))
    return names


def introduced_names(text: str, lexicon: Lexicon | None) -> list[tuple[int, int]]:
    """Spans of the names after intro words, logins, element texts, SQL values and capitals described above."""
    spans: list[tuple[int, int]] = []
    lowered = text.lower()
    intros = list(_INTRO.finditer(text)) if any(h in lowered for h in _INTRO_HINTS) else []
    if any(cue in lowered for cue in _SIGNOFF_CUES):
        intros += _signoffs(text, lowered)
    if any(cue in lowered for cue in _CLOSING_CUES):
        closings = (m for m in _CLOSING.finditer(text) if not _CAMEL.search(m.group("name")))  # "DevOps" is a team
        spans += [m.span("name") for m in closings if _name_words(m.group("name"), lexicon, True)]
    if any(verb in lowered for verb in _SAYING):
        spans += [m.span("name") for m in _SAID.finditer(text) if _name_words(m.group("name"), lexicon, True)]
    for intro in intros:
        cue = intro.group("cue").lower().replace("\u2019", "'")
        strong = cue in _STRONG_CUES
        start, end = intro.span("name")
        words = list(_WORD.finditer(text[start:end]))
        while words and (
            words[-1].group().lower() in STOP_WORDS or words[-1].group().lower() in _FOREIGN_FUNCTION_WORDS
        ):
            words.pop()  # "soy Ana y" stops before "y"; "mi chiamo Giulia e" before "e"
        while not strong and len(words) > 1 and not words[-1].group()[0].isupper():
            words.pop()  # after a weak cue a name is capitalised: "my landlord Siobhán wants" stops before "wants"
        if not words or (not strong and not words[0].group()[0].isupper()):  # "client, env" in code
            continue
        end = start + words[-1].end()
        if cue in _PRESENTING and not _PRESENTED_END.match(text, end):
            continue  # "it's Broken again": only "it's Hiroshi," or "this is Jennifer from accounting" present someone
        if _name_words(text[start:end], lexicon, capitalised=not strong):
            spans.append((start, end))
    if any(h in lowered for h in _USERNAME_HINTS):
        for login in _USERNAME.finditer(text):
            if login.group("at") or not lowered[max(0, login.start() - 4) : login.start()].endswith("ssh "):
                parts = regex.split(r"[._]", login.group("login"))
                # first.last: one part unknown to the dictionary is enough; first_last is also how code names things
                # ("svc_backup"), so there each part must be unknown or a listed given name or surname.
                # A mention is followed by a space or punctuation (a decorator, "@app.route", by a line's end or a
                # call), and each of its parts must be unknown or a listed name.
                at = login.start("login")
                mention = text[at - 1 : at] == "@"
                if mention and text[login.end() : login.end() + 1] not in _AFTER_MENTION:
                    continue
                named = ("." in login.group("login") and not mention) or all(_name_part(p, lexicon) for p in parts)
                if named and _name_words(" ".join(parts), lexicon, capitalised=False):
                    spans.append(login.span("login"))
    if any(hint in text for hint in _CJK_NAME_HINTS):  # characters beyond Latin-1: no cost in a Latin-1 text
        spans += [m.span("name") for m in _CJK_LABELLED.finditer(text)]
    if "</" in text:
        spans += [m.span(1) for m in _ELEMENT_TEXT.finditer(text) if _name_words(m.group(1), lexicon, True)]
    if '"' in text and "<" in text and "@" in text:
        names = _DISPLAY_NAME.finditer(text)
        spans += [m.span(1) for m in names if _name_words(m.group(1).replace(",", ""), lexicon, True)]
    if "\n--" in text:
        spans += [m.span(1) for m in _SIGNATURE.finditer(text) if _name_words(m.group(1), lexicon, True)]
    if "values" in lowered:
        for values in _SQL_VALUES.finditer(text):
            strings = _SQL_STRING.finditer(text, values.start(), values.end())
            spans += [m.span(1) for m in strings if _name_words(m.group(1), lexicon, True)]
        spans += _sql_name_values(text, lexicon)
    if any(title in text for title in _TITLES):
        spans += [m.span("name") for m in _TITLED.finditer(text) if _titled_name(m.group("name"), lexicon)]
    if _CAPS_HINT.search(text):
        spans += [caps.span() for caps in _CAPS_RUN.finditer(text) if _caps_name(text, caps, lexicon)]
        if "/" in text:
            spans += [m.span("name") for m in _TICKET_NAME.finditer(text) if _ticket_name(m.group("name"), lexicon)]
    return spans


def joined_names(text: str, lexicon: Lexicon | None, places: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of `_JOINED_NAME`'s names that overlap none of `places` (what the model tagged a place: "Ciudad de
    México", "Gare du Nord")."""
    particles = sorted(at for hint in _JOINED_HINTS for at in _places_of(text, hint))
    matches: dict[int, regex.Match[str]] = {}
    for at in particles:  # the pattern tried around each particle only: a scan of a 2 KB prompt took 33 us
        match = _JOINED_NAME.search(text, max(0, at - _JOINED_REACH), at + _JOINED_REACH)
        if match is not None:
            matches[match.start()] = match
    found = (m for m in matches.values() if _joined_name(text, m, lexicon))
    return [m.span("name") for m in found if not any(a < m.end() and m.start() < b for a, b in places)]


def _places_of(text: str, part: str) -> Iterator[int]:
    at = text.find(part)
    while at >= 0:
        yield at
        at = text.find(part, at + 1)


def _joined_name(text: str, match: regex.Match[str], lexicon: Lexicon | None) -> bool:
    start = match.start()
    before = text[max(0, start - 16) : start]
    lead = before.rstrip(" \t\"'(*-")
    if (lead[-1:] in (".", "!", "?", "\n") if lead else start <= len(before)) or _PLACE_BEFORE.search(before):
        return False  # a sentence's first words ("Rio de Janeiro is ...") or a place's
    outer = [w for w in match.group("name").split() if w not in _JOINING]
    if outer[0].lower() in _FOREIGN_FUNCTION_WORDS:
        return False  # a street's preposition: "Unter den Linden"
    return _name_words(" ".join(outer), lexicon, True)


def _titled_name(name: str, lexicon: Lexicon | None) -> bool:
    """After a title a surname may be a dictionary word ("Fitzgerald", "Baker"), but not a verb or an adjective
    ("Dr. Pepper", "Mr. Clean")."""
    words = [w.lower() for w in name.split()]
    if any(w in STOP_WORDS or w in TECH_WORDS or w in CALENDAR_WORDS for w in words):
        return False
    return plausible_name(name) and (lexicon is None or not any(w in lexicon.verbal for w in words))


def _ticket_name(name: str, lexicon: Lexicon | None) -> bool:
    words = regex.split(r"[/ -]", name.lower())
    return _name_words(" ".join(words), lexicon, False) or given_and_surname(words)


def _sql_name_values(text: str, lexicon: Lexicon | None) -> list[tuple[int, int]]:
    """The quoted values of an INSERT's rows under columns named as names, one word or more."""
    spans: list[tuple[int, int]] = []
    for column, start, end in sql_cells(text):
        named = _NAME_COLUMN_NAME.match(column)
        if (
            named
            and text[start - 1 : start] == "'"
            and _name_value(text[start:end], lexicon, named["part"] is not None or named["part_key"] is not None)
        ):
            spans.append((start, end))
    return spans


_CAPS_JARGON = frozenset({"todo", "fixme", "note", "warning", "error", "info", "debug", "http", "https", "utc"})
_CAPS_LABEL = regex.compile(r"(?i)^[ \t>]*(?:to|from|name|attn)[ \t]*:")


def _caps_name(text: str, caps: regex.Match[str], lexicon: Lexicon | None) -> bool:
    """Words in capitals that are a name: in a line with lower-case letters too or after a label, 3+ letters each,
    none a tech or stop word, the first unknown to the dictionary or a common given name ("ANA")."""
    if lexicon is None:
        return False
    line_end = text.find("\n", caps.end())
    line = text[text.rfind("\n", 0, caps.start()) + 1 : len(text) if line_end < 0 else line_end]
    if not any(c.islower() for c in line) and not _CAPS_LABEL.search(line):
        return False
    words = caps.group().split()
    if any(len(w) < 3 or w.lower() in _CAPS_JARGON for w in words):
        return False
    first = words[0].lower()
    titled = " ".join(w.capitalize() for w in words)
    return _name_words(titled, lexicon, True) and (not lexicon.known(first) or first in NAME_PARTS)


def _foreign_function_words(text: str) -> bool:
    return all(w.lower() in _FOREIGN_FUNCTION_WORDS for w in text.split())


# The function words that stand inside names ("maria de la cruz", "jan van der berg").
_NAME_PARTICLES = frozenset({"de", "la", "del", "da", "di", "do", "dos", "das", "van", "von", "der", "den", "du", "le"})


_INTRODUCED = regex.compile(r"(?:" + _INTRO_WEAK + r")\s")


def _lower_case_phrase(value: str) -> bool:
    """Words written in lower case with a function word of another language that no name holds before the last
    ("quelles nouveautés", "en tránsito' desde hace"): a phrase the cased view made look like a name. The last word
    may be one: a surname ("jennifer li"); the first may introduce the name ("soy valentina")."""
    words = [w.strip("'\u2019\"") for w in value.split()[:-1]]
    return (
        value.islower()
        and any(w in _FOREIGN_FUNCTION_WORDS and w not in _NAME_PARTICLES for w in words)
        and _INTRODUCED.match(value) is None
    )


# What people call a country besides its name (phonenumbers' English names: "United States", "United Kingdom").
_COUNTRY_SHORT_NAMES = (
    *("us", "u.s.", "usa", "u.s.a.", "uk", "u.k.", "america", "britain", "great britain", "uae"),
    *("england", "scotland", "wales", "northern ireland", "holland", "czechia", "the states"),
)


@functools.cache
def _countries() -> frozenset[str]:
    examples = (phonenumbers.example_number(region) for region in phonenumbers.SUPPORTED_REGIONS)
    names = {country_name_for_number(number, "en").lower() for number in examples if number is not None}
    return frozenset((names - {""}) | set(_COUNTRY_SHORT_NAMES))


def _country(place: str) -> bool:
    """A country's name: a place, but nobody's address. Redacted, it left a provider answering "Do you ship to
    <LOCATION>?", and "...to Canada?" and "...to Australia?" one cached question."""
    lowered = place.strip().lower()
    return lowered in _countries() or lowered.removeprefix("the ") in _countries()


def _titled(text: str, start: int) -> bool:
    """A title right before `start` ("Mr. Brown"): what follows is a surname, whatever else the word means."""
    return _TITLE_BEFORE.search(text[max(0, start - 8) : start]) is not None


def _misread(text: str, start: int, end: int) -> bool:
    """A span the model tagged but is no name: a function word of another language ("Unter", "Nach") or a phrase
    in lower case with one, part of a path or time zone ("Europe/Berlin"), or a single word as a command-line flag's
    value (`--author='Linus'`)."""
    if _foreign_function_words(text[start:end]) or _lower_case_phrase(text[start:end]):
        return True
    if text[start - 1 : start] == "/" or text[end : end + 1] == "/":
        return True
    # A lone first name as a flag's filter names nobody in particular; a full name there is still a person's.
    single = " " not in text[start:end].strip()
    return single and regex.search(r"(?<!\S)--[\w-]+=[\"']?$", text[max(0, start - 40) : start]) is not None


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
        # Unknown to an English dictionary says nothing of a word of another language: only an introduction does.
        if self._lexicon is not None:
            english = self._lexicon.known
            restored = [r for r in restored if r.cued or not in_foreign_line(text, r.start, english)]
        view = cased(text, restored)
        windows = name_windows(text, restored, self._lexicon)
        results: list[RecognizerResult] = []
        places: list[tuple[int, int]] = []
        docs = self._nlp.pipe([view[a:b] for a, b in windows], batch_size=32)
        for (offset, _), doc in zip(windows, docs, strict=True):
            for ent in doc.ents:
                start, end = offset + ent.start_char, offset + ent.end_char
                if ent.label_ in _PLACE_LABELS:
                    places.append((start, end))
                entity = self._entity(ent, start, end, restored)
                if self._greeted(ent):  # "Dear Siobhán" tagged as an organisation: a greeting, then the person
                    entity, start = "PERSON", offset + ent[1].idx
                if entity is None or entity not in entities or (entity == "LOCATION" and _country(view[start:end])):
                    continue
                if self._plain_word(view[start:end]) and not _titled(view, start):
                    continue
                for a, b in name_parts(view, start, end):
                    if entity == "PERSON":
                        a = _with_first_name(view, a)
                    if (a, b) != (start, end) and self._plain_word(view[a:b]) and not _titled(view, a):
                        continue  # all that is name-shaped of a longer span: one verb or adjective ("de Release van")
                    results.append(self._result(entity, a, b))
        # A name key's value of 2-3 words, one unknown to the dictionary, is a name even where the
        # model, reading code, tags nothing: `"name": "lucas oliveira"`.
        results += [self._result("PERSON", r.start, r.end) for r in restored if r.keyed and r.unknown and r.words > 1]
        if "PERSON" in entities:
            results += [self._result("PERSON", a, b) for a, b in labelled_names(text, self._lexicon)]
            results += [self._result("PERSON", a, b) for a, b in introduced_names(text, self._lexicon)]
            results += [self._result("PERSON", a, b) for a, b in joined_names(text, self._lexicon, places)]
            results += [self._result("PERSON", a, b) for a, b in addressed_names(text, self._lexicon)]
        return [r for r in results if not _misread(text, r.start, r.end)]

    def _plain_word(self, span: str) -> bool:
        """One word the dictionary knows as an adjective, verb or adverb and not as a given name or surname: a plan, a
        product or a feature capitalised ("the Standard plan", "upgrade to Premium"), not a person or a place.
        Redacted, two questions about two plans became one cached question. After a title it is a surname ("Mr.
        Brown")."""
        word = span.strip().lower()
        return self._lexicon is not None and word.isalpha() and word in self._lexicon.verbal and word not in NAME_PARTS

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

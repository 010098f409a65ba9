"""Lower-case names ("ask maria gonzalez") for an NER model that learnt names from capital letters.

spaCy's small English model finds "Maria Gonzalez" and misses "maria gonzalez". So detection also
runs on a *cased view*: the text with the first letter of chosen lower-case words made upper-case,
same length, so every offset in it is an offset in the original. Title-casing every word would make
the model see names everywhere ("Bill The Customer"), so only words that could be names are chosen:

- a run of 2-3 words that holds a word the model's own dictionary does not know ("gonzalez",
  "kowalczyk"; the lemmatizer's word lists, with its suffix rules for inflected forms), or
- 1-3 words right after a cue that introduces a person ("my name is", "dear", "cc", "ask") or
  as the value of a name key in code (`author="..."`, `"name": "..."`), dictionary words included
  ("james smith").

Stop words, tech words, calendar words and identifiers (`user_id`, `obj.name`, `call(`) are never
chosen. Whether a chosen run is a name is still the model's decision (`names.py`): it must tag it
PERSON in the cased view (or ORG/GPE/NORP over 2-3 words ending in an unknown one). The one
exception is the value of a name key, 2-3 words with an unknown one (`"name": "lucas oliveira"`),
where the model, reading code, often tags nothing.

Measured on tests/data/pii_names.jsonl: 30 of 31 names caught, 0 of 65 clean prompts altered.
"""

from __future__ import annotations

import bisect
import calendar
import functools
import itertools
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import regex
from spacy.lang.en.stop_words import STOP_WORDS

from helix.pii.recognizers import TECH_WORDS

MAX_RUN = 3
# A lower-case word that is prose, not code: not glued to identifiers, paths, calls or attributes.
_WORD = regex.compile(r"(?<![\p{L}\p{N}_.@/\\$#-])\p{Ll}{2,}(?![\p{L}\p{N}_@/\\(]|[.-]\w)")
_CUES = """my name is|name's|named|called|dear|hi|hello|hey|thanks|thank you|cc|mr|mrs|ms|dr|prof
    |ask|tell|ping|remind|email|message|contact|patient|customer|client|employee|colleague
    |manager|author|reviewer|assignee|owner|signed|regards"""
# Other languages' introductions: their words are never a name's, so the run after them starts at the name.
_FOREIGN_CUES = """me llamo|mi nombre es|mi chiamo|il mio nome è|il nome|je m'appelle|mon nom est|ich heiße
    |ich heisse|mein name ist|meu nome é|me chamo|mijn naam is|nazywam się"""
_CUE_PHRASES = [c.strip() for c in f"{_CUES}|{_FOREIGN_CUES}".split("|")]
_CUE = regex.compile(r"(?i)\b(?:" + "|".join(_CUE_PHRASES) + r")[ \t]*[:,]?[ \t]*$")
_CUE_ENDS = tuple(sorted({c.rsplit(" ", 1)[-1] for c in _CUE_PHRASES}))  # what the text before a cued run ends in
# A key that holds a person's name in code or data: `name="..."`, `"author": '...'`.
_KEY_CUE = regex.compile(
    r"""(?i)\b(?:name|full_?name|first_?name|last_?name|author|user_?name|owner|assignee|reviewer|customer)"""
    r"""["']?[ \t]*[:=][ \t]*["']$"""
)
# Cue words end a run rather than start it, so the cue is found right before the name.
_CUE_LIST = """named called dear hi hello hey thanks cc mr mrs ms dr prof ask tell ping remind email message
    contact patient customer client employee colleague manager author reviewer assignee owner signed regards"""
# The people closest to someone, named right after "my" ("my wife sarah", "my son tom"): one word, a name only if the
# dictionary does not know it or lists it as a given name ("my dad said", "my son bought" are not).
_RELATION_LIST = """wife husband son daughter mom mum mother dad father brother sister boyfriend girlfriend fiance
    fiancee fiancé fiancée uncle aunt cousin nephew niece grandma grandpa grandmother grandfather stepson stepdaughter
    roommate flatmate"""
RELATIONS = frozenset(_RELATION_LIST.split())
_RELATION_CUE = regex.compile(r"(?i)\bmy[ \t]+(?:" + "|".join(sorted(RELATIONS)) + r")[ \t]*,?[ \t]*$")
_RELATION_ENDS = tuple(sorted(RELATIONS))
_CUE_WORDS = frozenset(_CUE_LIST.split()) | RELATIONS | frozenset(_FOREIGN_CUES.replace("|", " ").split())
_CUE_REACH = 24  # characters before a run searched for a cue
CALENDAR_WORDS = frozenset(
    w.lower() for w in (*calendar.day_name, *calendar.month_name, *calendar.day_abbr, *calendar.month_abbr) if w
)
_NOT_NAMES = CALENDAR_WORDS | frozenset(
    ["today", "tomorrow", "yesterday", "tonight", "morning", "afternoon", "evening", "night", "week", "weekend"]
)


@dataclass(frozen=True, slots=True)
class Restored:
    """Words [start, end) of the original that the cased view capitalises."""

    start: int
    end: int
    words: int
    unknown: tuple[int, ...]  # the ends of its words the dictionary does not know
    keyed: bool = False  # the value of a name key in code or data
    cued: bool = False  # after a cue that introduces a person ("my name is", "me llamo"), or a name key


class WordSet:
    """A set of words held as their sorted hashes: ~8 bytes a word instead of ~90 for a frozenset of
    strings (the lexicon's 83k words took 8 MiB). Python's string hash is fixed for the life of the
    process, which is as long as a WordSet lives; a false member needs a 64-bit collision."""

    def __init__(self, words: Iterable[str]) -> None:
        self._hashes = array("q", sorted({hash(w) for w in words}))

    def __contains__(self, word: object) -> bool:
        key = hash(word)
        i = bisect.bisect_left(self._hashes, key)
        return i < len(self._hashes) and self._hashes[i] == key

    def __len__(self) -> int:
        return len(self._hashes)


class Lexicon:
    """The English words a spaCy pipeline's rule lemmatizer knows (its lemma index and exceptions),
    with its suffix rules for inflected forms."""

    def __init__(self, words: Iterable[str], rules: Iterable[tuple[str, str]], verbal: Iterable[str] = ()) -> None:
        self._words = WordSet(words)
        # Words it knows as verbs, adjectives or adverbs: "Stack", "File", "Finance" at the start of a
        # sentence are those, where names in its lists ("maria", "daniel") are nouns only.
        self.verbal = WordSet(verbal)
        self._rules = tuple(sorted(set(rules), key=lambda r: -len(r[0])))
        self.known = functools.lru_cache(maxsize=16384)(self._known)

    def __len__(self) -> int:
        return len(self._words)

    def _known(self, word: str) -> bool:
        if word in self._words:
            return True
        return any(
            word.endswith(old) and len(word) > len(old) + 1 and word[: len(word) - len(old)] + new in self._words
            for old, new in self._rules
        )


@functools.lru_cache(maxsize=4)
def load_lexicon(model_dir: str) -> Lexicon | None:
    """The lemmatizer's word lists of the pipeline at `model_dir`; None if it has none (then only
    cued runs are restored)."""
    from spacy.lookups import Lookups
    from spacy.strings import get_string_id

    folder = Path(model_dir) / "lemmatizer" / "lookups"
    if not (folder / "lookups.bin").is_file():
        return None
    lookups = Lookups().from_disk(folder)
    if not {"lemma_index", "lemma_exc"} <= set(lookups.tables):
        return None
    words: set[str] = set()
    verbal: set[str] = set()
    noun = get_string_id("noun")
    index = lookups.get_table("lemma_index")
    for pos in index:
        words.update(index[pos])
        if pos != noun:
            verbal.update(index[pos])
    exceptions = lookups.get_table("lemma_exc")
    for pos in exceptions:
        for form, lemmas in exceptions[pos].items():
            words.add(form)
            words.update(lemmas)
            if pos != noun:
                verbal.add(form)
    rules: list[tuple[str, str]] = []
    if "lemma_rules" in lookups.tables:
        table = lookups.get_table("lemma_rules")
        rules = [(old, new) for pos in table for old, new in table[pos] if old and old.isalpha()]
    return Lexicon({w.lower() for w in words if w.isalpha()}, rules, {w.lower() for w in verbal if w.isalpha()})


# Computing words the lemmatizer's dictionary does not know, common in prompts: never name parts.
_JARGON_LIST = """
    config configs env envs var vars repo repos async await webhook webhooks middleware localhost stdout
    stderr stdin timestamp timestamps dataset datasets auth login logins logout signup signin username
    usernames hostname hostnames runtime runtimes frontend backend todo todos readme changelog enum enums
    param params arg args kwargs bool int str dict tuple init admin admins app apps dev devs prod staging
    ui ux vs runbook runbooks timeout timeouts traceback tracebacks namespace namespaces keyword keywords
    plaintext inline backoff ttl regexes loopback configurable unicode utf ascii cron crontab sudo chmod
    chown grep sed awk curl wget scp rsync tmp tmpfs dir dirs filepath filename filenames pathname
    subdomain subnet subnets netmask proxy proxied upstream downstream endpoint endpoints url urls uuid
    mypy pylint pyright flake isort pipenv conda venv virtualenv npx pnpm yarn
    uuids ids id db dbs schema schemas sql queries async sync subprocess stacktrace repl cli gui api
    microservice microservices kubectl devops sre ci cd qa mvp kpi kpis okr okrs sla slas roadmap
    onboarding offboarding offsite workflow workflows dashboard dashboards codebase monorepo linter
    linters formatter unittest unittests mock mocks fixture fixtures refactor refactoring deploy
    deploys deployed deployment rollout rollback rollbacks hotfix hotfixes changeset diff diffs
    email emails inbox spreadsheet spreadsheets pdf pdfs csv docx xlsx png jpg svg gif mp4 wifi
    bluetooth usb hdmi ssd hdd cpu gpu ram os vm vms
"""
_JARGON = frozenset(_JARGON_LIST.split())
_NEVER_NAMES = frozenset(STOP_WORDS) | TECH_WORDS | _JARGON | _NOT_NAMES | _CUE_WORDS  # one lookup a word


# A given name and a surname that are both dictionary words ("rose baker", "daniel hill") are a name
# only as a pair; each alone is prose ("the rose", "bill the client"). Given names that are mostly
# verbs, modals or virtues (will, pat, hope, chase) and surnames that are mostly colours or common
# nouns after such a word (white, price, gold, day, park) are left out of these lists.
_GIVEN_LIST = """
    rose grace mark bill holly ivy daisy lily iris jasmine heather hazel robin ruby pearl amber
    maria daniel james john mary anna sofia david michael sarah paul peter george henry victoria
    charlotte lucy ben sam tom nick bob jack dean hunter mason carter cole ray
"""
_SURNAME_LIST = """
    baker hunter hill smith king wright stone bell cook fox lane hart ward ford cole burns wells
    mills reed shaw hunt berry webb bishop knight porter parker carter turner cooper miller taylor
    walker clark gardner palmer butler fuller archer weaver potter chapman mason nash moss marsh
"""
_GIVEN = frozenset(_GIVEN_LIST.split())
_SURNAMES = frozenset(_SURNAME_LIST.split())
NAME_PARTS = _GIVEN | _SURNAMES  # dictionary words that are also common given names and surnames


def given_and_surname(words: Iterable[str]) -> bool:
    """Whether `words` (lower case) hold a listed given name and a listed surname: "john smith", "smith john a."."""
    listed = set(words)
    return not listed.isdisjoint(_GIVEN) and not listed.isdisjoint(_SURNAMES)


# Not a person: "the rose hill estate", "grace hill trail", and an imperative at a sentence's start
# ("mark turner as done", "bill baker for the hours").
_DETERMINER_BEFORE = regex.compile(r"(?i)\b(?:the|a|an|this|that|these|those|our|your|their|its)[ \t]+$")
_SENTENCE_START = regex.compile(r"(?:^|[.!?;:\n])[ \t\"'(*-]*$")
_IMPERATIVE = frozenset(["mark", "bill", "jack", "nick", "bob"])
_PLACE_AFTER = regex.compile(
    r"[ \t]+(?:trail|road|rd|street|st|avenue|ave|park|school|hospital|station|estate|lane|drive|way|"
    r"centre|center|hall|college|university|bridge|farm|house|court|square|building|campus)\b"
)


def _could_be_name(word: str) -> bool:
    return word not in _NEVER_NAMES


def _runs(text: str) -> list[list[tuple[int, int]]]:
    """Maximal runs of lower-case prose words that could be names, separated by single spaces."""
    runs: list[list[tuple[int, int]]] = []
    for match in _WORD.finditer(text):
        if not _could_be_name(match.group()):
            continue
        start, end = match.span()
        if runs and text[runs[-1][-1][1] : start] == " ":
            runs[-1].append((start, end))
        else:
            runs.append([(start, end)])
    return runs


def restorable(text: str, lexicon: Lexicon | None) -> list[Restored]:
    """The lower-case words of `text` the cased view capitalises (see the module docstring)."""
    found: list[Restored] = []
    for run in _runs(text):
        first = run[0][0]
        keyed = _key_cued(text, first)
        if keyed or _cued(text, first):
            words = run[:MAX_RUN]
            unknown = () if lexicon is None else tuple(b for a, b in words if not lexicon.known(text[a:b]))
            if not (keyed and len(words) == 1 and not unknown):  # `"name": "orders"`
                found.append(Restored(words[0][0], words[-1][1], len(words), unknown, keyed, cued=True))
            continue
        relative = _relative(text, run[0], lexicon)
        if relative is not None:
            found.append(relative)
            continue
        if lexicon is None or len(run) < 2:
            continue
        groups = list(_unknown_groups(text, run, lexicon))
        found += groups + [
            p for p in _name_pairs(text, run) if not any(g.start < p.end and p.start < g.end for g in groups)
        ]
    return found


def _key_cued(text: str, first: int) -> bool:
    # The key's closing quote comes right before the value.
    return text[first - 1 : first] in ("'", '"') and bool(_KEY_CUE.search(text, max(0, first - _CUE_REACH), first))


def _cued(text: str, first: int) -> bool:
    # The pattern runs only where the text before ends in a cue's last word (most runs follow none).
    before = text[max(0, first - _CUE_REACH) : first].rstrip(" \t")
    if before.endswith((":", ",")):
        before = before[:-1].rstrip(" \t")
    return before.casefold().endswith(_CUE_ENDS) and bool(_CUE.search(text, max(0, first - _CUE_REACH), first))


def _relative(text: str, word: tuple[int, int], lexicon: Lexicon | None) -> Restored | None:
    """The word at `word` if it names someone after "my wife", "my son"...: unknown to the dictionary or a given
    name."""
    start, end = word
    before = text[max(0, start - _CUE_REACH) : start].rstrip(" \t,").casefold()
    if lexicon is None or not before.endswith(_RELATION_ENDS):  # most runs follow no relation: no pattern run
        return None
    if not _RELATION_CUE.search(text, max(0, start - _CUE_REACH), start):
        return None
    value = text[start:end]
    if value in _GIVEN:
        return Restored(start, end, 1, ())
    return None if lexicon.known(value) else Restored(start, end, 1, (end,))


def _name_pairs(text: str, run: list[tuple[int, int]]) -> Iterable[Restored]:
    """Two adjacent words of a run that are a listed given name and a listed surname, but not after a
    determiner, not before a place noun, and not an imperative opening a sentence."""
    for (a, b), (c, d) in itertools.pairwise(run):
        given = text[a:b]
        if given not in _GIVEN or text[c:d] not in _SURNAMES or _PLACE_AFTER.match(text, d):
            continue
        before = text[max(0, a - 12) : a]
        if _DETERMINER_BEFORE.search(before) or (given in _IMPERATIVE and _SENTENCE_START.search(before)):
            continue
        yield Restored(a, d, 2, ())


def _unknown_groups(text: str, run: list[tuple[int, int]], lexicon: Lexicon) -> Iterable[Restored]:
    """Each unknown word of a run with the words either side of it (first or last name), 2-3 words;
    a neighbour the dictionary knows as a verb, adjective or adverb ("mypy complain") is left out."""
    words = [text[a:b] for a, b in run]
    unknown = [not lexicon.known(w) for w in words]

    def joins(j: int) -> bool:
        return 0 <= j < len(run) and (unknown[j] or len(words[j]) < 4 or words[j] not in lexicon.verbal)

    i = 0
    while i < len(run):
        if not unknown[i]:
            i += 1
            continue
        lo = i - 1 if joins(i - 1) else i
        hi = i + 1 if joins(i + 1) else i
        if hi > lo:
            ends = tuple(run[j][1] for j in range(lo, hi + 1) if unknown[j])
            yield Restored(run[lo][0], run[hi][1], hi - lo + 1, ends)
        i = hi + 1


def cased(text: str, restored: list[Restored]) -> str:
    """`text` with every restored word capitalised; same length, so offsets carry over."""
    if not restored:
        return text
    chars = list(text)
    for r in restored:
        for match in regex.finditer(r"\p{Ll}+", text[r.start : r.end]):
            i = r.start + match.start()
            upper = chars[i].upper()
            if len(upper) == 1:
                chars[i] = upper
    return "".join(chars)

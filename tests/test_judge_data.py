"""The judge's training data stays apart from the questions that measure it (the dev and test splits, and the
selection set `select_intents.jsonl`)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from difflib import SequenceMatcher
from pathlib import Path
from types import ModuleType

from tests.labelled import load_intents

TRAINING = Path(__file__).resolve().parents[1] / "training"
WRITTEN = sorted((TRAINING / "data").glob("written_*.jsonl"))
SELECT_INTENTS = Path(__file__).parent / "data" / "select_intents.jsonl"


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def _held_out() -> set[str]:
    held_out = [i for i in load_intents() if i.split in ("dev", "test")] + load_intents(SELECT_INTENTS)
    return {_normal(t) for i in held_out for t in i.texts}


def _judge_data() -> ModuleType:
    spec = importlib.util.spec_from_file_location("judge_data", TRAINING / "judge_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("judge_data", module)
    spec.loader.exec_module(module)
    return module


def test_written_intents_are_well_formed_families() -> None:
    assert len(WRITTEN) >= 3
    lines = [(path.stem, line) for path in WRITTEN for line in path.read_text(encoding="utf-8").splitlines()]
    rows = [json.loads(line) | {"file": stem} for stem, line in lines]
    assert len({r["intent"] for r in rows}) == len(rows)
    texts = [_normal(t) for r in rows for t in r["texts"]]
    assert len(set(texts)) == len(texts)
    assert all(len(r["texts"]) >= 4 for r in rows)
    per_family: dict[tuple[str, str], int] = {}
    for r in rows:
        per_family[r["file"], r["family"]] = per_family.get((r["file"], r["family"]), 0) + 1
    assert all(n >= 2 for n in per_family.values())  # every intent has a near-miss to learn from


def test_no_training_question_is_a_held_out_question() -> None:
    held_out = _held_out()
    for version in _judge_data().VERSIONS:
        pairs = _judge_data().build(8, version)
        assert len(pairs) > 10_000
        seen = {_normal(t) for a, b, _ in pairs for t in (a, b)}
        assert sorted(seen & held_out) == []


def test_data_versions_are_the_trained_models_data() -> None:
    """The pair counts docs/semantic-cache.md and the card state for the v3 and v4 data, seed 8."""
    versions = ("v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16")
    counts = {v: _judge_data().build(8, v) for v in versions}
    assert {v: (len(p), sum(same for _, _, same in p)) for v, p in counts.items()} == {
        "v3": (30_453, 14_967),
        "v4": (36_759, 16_149),
        "v5": (37_458, 19_308),
        "v6": (42_419, 20_537),
        "v7": (35_941, 17_711),
        "v8": (36_279, 18_049),
        "v9": (48_245, 23_619),
        "v10": (48_245, 23_619),
        "v11": (49_389, 24_211),
        "v12": (48_797, 23_619),
        "v13": (49_719, 23_901),
        "v14": (68_711, 34_253),
        "v15": (77_046, 37_184),
        "v16": (85_305, 39_503),
    }


def test_v6_is_v3_plus_written_near_misses() -> None:
    """v6 keeps every v3 pair and adds the near-miss families: "same" inside an intent, "different" across."""
    data = _judge_data()
    v3, v6 = data.build(8, "v3"), data.build(8, "v6")
    assert sorted(set(v3) - set(v6)) == []
    families = data.written_families(data.NEAR_MISSES)
    assert len(families) >= 50 and all(2 <= len(f) <= 4 for f in families)
    old = set(v3)
    added = [p for p in v6 if p not in old]
    assert sum(same for _, _, same in added) > 4_000
    assert sum(1 - same for _, _, same in added) > 4_000


def _masked(text: str) -> set[tuple[str, ...]]:
    """The text with each word in turn left out."""
    words = tuple(text.split())
    return {(*words[:i], "*", *words[i + 1 :]) for i in range(len(words))}


def _written_and_one_away(data: ModuleType) -> tuple[set[str], set[tuple[str, ...]]]:
    """The v3 written questions, and every one of them with one word left out (a text one word away shares one)."""
    written = {t for family in data.written_families("v3") for texts in family for t in texts}
    return written, set().union(*(_masked(t) for t in written))


def test_v7_is_v3_plus_one_word_substitutions() -> None:
    """v7 keeps every v3 pair; each added "different" pair has a side that is a written training question with
    one word replaced by a sibling, and each added "same" pair differs only by a trivial edit."""
    data = _judge_data()
    v3, v7 = data.build(8, "v3"), data.build(8, "v7")
    assert sorted(set(v3) - set(v7)) == []
    old = set(v3)
    added = [p for p in v7 if p not in old]
    different = [p for p in added if not p[2]]
    assert len(different) > 2_500 and sum(same for _, _, same in added) > 2_500

    written, one_away = _written_and_one_away(data)
    one_word = sum(any(_masked(x) & one_away and x not in written for x in (a, b)) for a, b, _ in different)
    assert one_word > 0.95 * len(different)


def test_v8_is_v7_plus_synonym_positives() -> None:
    data = _judge_data()
    v7, v8 = data.build(8, "v7"), data.build(8, "v8")
    assert sorted(set(v7) - set(v8)) == []
    old = set(v7)
    added = [p for p in v8 if p not in old]
    assert len(added) > 300 and all(same for _, _, same in added)


def test_v9_is_v3_plus_near_misses_substitutions_and_synonyms() -> None:
    data = _judge_data()
    v3, v9 = data.build(8, "v3"), data.build(8, "v9")
    assert sorted(set(v3) - set(v9)) == []
    near_miss_texts = {t for family in data.written_families(data.NEAR_MISSES) for texts in family for t in texts}
    old = set(v3)
    added = [p for p in v9 if p not in old]
    from_families = [p for p in added if p[0] in near_miss_texts or p[1] in near_miss_texts]
    assert len(from_families) > 8_000 and len(added) - len(from_families) > 5_000


def test_v10_edits_substitution_negatives_as_their_positives() -> None:
    """v9's substitution "different" pairs are two clean questions (a written one, one word away from one) while
    their "same" pairs are edited: in v10 a share of the "different" pairs has an edited side too."""
    data = _judge_data()
    written, one_away = _written_and_one_away(data)
    near_miss_texts = {t for family in data.written_families(data.NEAR_MISSES) for texts in family for t in texts}
    old = set(data.build(8, "v3"))

    def edited_share(version: str) -> float:
        different = [
            (a, b)
            for a, b, same in data.build(8, version)
            if not same and (a, b, same) not in old and a not in near_miss_texts and b not in near_miss_texts
        ]

        def plain(text: str) -> bool:
            return text in written or bool(_masked(text) & one_away)

        return 1 - sum(plain(a) and plain(b) for a, b in different) / len(different)

    assert edited_share("v9") == 0
    assert edited_share("v10") > 0.25


def test_v11_is_v10_plus_one_action_in_two_places() -> None:
    """Every pair v11 adds asks one action on one object; "same" where both name one place (in other words), and
    "different" where they name two."""
    data = _judge_data()
    old, v11 = set(data.build(8, "v10")), data.build(8, "v11")
    added = [p for p in v11 if p not in old]
    assert len(added) > 1_000 and sorted(old - set(v11)) == []
    place_of = {w.lower(): place for place, words in data.PLACES.items() for w in words}
    by_length = sorted(place_of, key=len, reverse=True)  # "on the remote server" before "on the remote"

    def place(text: str) -> str | None:  # None where a typo fell on the place's words
        lowered = text.lower()
        return next((place_of[w] for w in by_length if w in lowered), None)

    placed = [(place(a), place(b), same) for a, b, same in added]
    readable = [(x, y, same) for x, y, same in placed if x and y]
    assert len(readable) > 0.8 * len(added)
    assert all((x == y) == bool(same) for x, y, same in readable)
    assert 0.3 < sum(same for _, _, same in added) / len(added) < 0.7


def test_v12_is_v10_plus_v11s_places_apart() -> None:
    data = _judge_data()
    v10, v11, v12 = (set(data.build(8, v)) for v in ("v10", "v11", "v12"))
    added = v12 - v10
    assert len(added) > 500 and not v10 - v12
    assert added == {p for p in v11 - v10 if not p[2]}


def test_v13_is_v12_plus_questions_made_more_specific() -> None:
    """Every pair v13 adds asks one question of `NARROWED` or one of its narrowings: "same" within one, "different"
    across, and every narrowing is set against its plain question."""
    data = _judge_data()
    v12, v13 = (set(data.build(8, v)) for v in ("v12", "v13"))
    added = v13 - v12
    assert len(added) > 800 and not v12 - v13
    family = {core: i for i, (base, narrowings) in enumerate(data.NARROWED) for core, _ in [base, *narrowings]}
    forms = sorted(
        (
            (data._normal(form).split(), core)
            for base, more in data.NARROWED
            for core, short in [base, *more]
            for form in (core, short)
        ),
        key=lambda f: len(f[0]),
        reverse=True,
    )

    def asked(text: str) -> str:  # the core of the longest form the text holds, typos allowed
        words = data._normal(text).split()
        return next(core for form, core in forms if _holds(words, form))

    labelled = [(asked(a), asked(b), same) for a, b, same in added]
    assert all(family[x] == family[y] for x, y, _ in labelled)  # one question and its own narrowings
    assert all((x == y) == bool(same) for x, y, same in labelled)
    plain = {base[0] for base, _ in data.NARROWED}
    against_plain = {x if y in plain else y for x, y, same in labelled if not same and plain & {x, y}}
    assert against_plain == {core for _, narrowings in data.NARROWED for core, _ in narrowings}


def _holds(words: list[str], form: list[str]) -> bool:
    """`form`'s words appear in order in `words`, each exactly or within a typo (one swap, drop or doubled letter)."""
    rest = iter(words)
    return all(any(w == f or (len(f) > 4 and SequenceMatcher(None, w, f).ratio() >= 0.8) for w in rest) for f in form)


def test_substitution_keeps_the_rest_of_the_question() -> None:
    import random

    substitute = _judge_data().substitute
    lexicon = {"order": ["subscription", "invoice"], "cancel": ["pause"]}
    rng = random.Random(0)
    made = {substitute.substitute("How do I cancel my order?", lexicon, set(), rng) for _ in range(40)}
    assert made == {
        "How do I pause my order?",
        "How do I cancel my subscription?",
        "How do I cancel my invoice?",
    }
    assert substitute.substitute("Where is it?", lexicon, set(), rng) is None
    assert substitute.substitute("Order status", lexicon, set(), rng) in {"Subscription status", "Invoice status"}
    # a sibling seen after the same word is preferred (three to one)
    picks = [substitute.substitute("my order", {"order": ["bill", "plan"]}, {("my", "plan")}, rng) for _ in range(400)]
    assert 250 < picks.count("my plan") < 350


def test_substitution_lexicon_never_offers_the_word_itself() -> None:
    substitute = _judge_data().substitute
    lexicon = substitute.load()
    assert len(lexicon) > 500
    for word, siblings in lexicon.items():
        assert word not in siblings and len(set(siblings)) == len(siblings)
        assert word not in substitute.FILLERS and not set(siblings) & substitute.FILLERS
    synonyms = substitute.load("synonyms")
    assert {"photo": ["picture"], "directory": ["folder"]}.items() <= synonyms.items()
    for word, same in synonyms.items():
        assert word not in same and not set(same) & set(lexicon.get(word, []))
        assert all(word in synonyms[other] for other in same)  # a synonym's synonym is the word again


def test_v5_is_v3_plus_trivial_edits() -> None:
    """v5 keeps every v3 pair (every hard negative) and adds the edits, "same" and near-misses alike."""
    v3, v5 = _judge_data().build(8, "v3"), _judge_data().build(8, "v5")
    assert sorted(set(v3) - set(v5)) == []
    old = set(v3)
    added = [p for p in v5 if p not in old]
    assert sum(same for _, _, same in added) > 3_000
    assert sum(1 - same for _, _, same in added) > 1_000


def test_trivial_edits_keep_the_question() -> None:
    import random

    data = _judge_data()
    rng = random.Random(0)
    opened = {data.trivial_edit("How do I export my contacts?", rng, "opening") for _ in range(40)}
    assert "How can I export my contacts?" in opened and "How to export my contacts?" in opened
    assert all(o.endswith(" export my contacts?") for o in opened)
    assert data.trivial_edit("I can't log in, what should I do?", rng, "swap") == "What should I do, i can't log in?"
    assert data.trivial_edit("Convert from USD, to EUR please", rng, "swap") == "Convert from USD, to EUR please"
    assert data.trivial_edit("I don't get emails", rng, "contraction") == "I do not get emails"
    assert data.trivial_edit("Move 5 files to trash", rng, "case") in {"move 5 files to trash", "MOVE 5 FILES TO TRASH"}


def test_selection_intents_are_well_formed_families() -> None:
    intents = load_intents(SELECT_INTENTS)
    assert {i.split for i in intents} == {"select"}
    assert len({i.name for i in intents}) == len(intents)
    texts = [_normal(t) for i in intents for t in i.texts]
    assert len(set(texts)) == len(texts)
    assert all(len(i.texts) >= 4 for i in intents)
    families = [i.family for i in intents]
    assert all(families.count(f) >= 2 for f in families)  # every intent has a near-miss


def test_v14_is_v13_plus_the_other_written_families() -> None:
    """v14 keeps every v13 pair and adds the families of `MORE_WRITTEN` (read by v4 alone before): every pair inside
    an intent "same", near-misses across a family's intents "different", every question of those files asked."""
    data = _judge_data()
    v13, v14 = (set(data.build(8, v)) for v in ("v13", "v14"))
    assert not v13 - v14
    added = v14 - v13
    families = data.written_families("more")
    assert len(families) >= 90 and all(len(f) >= 2 for f in families)
    asked = {data._normal(t) for a, b, _ in added for t in (a, b)}
    written = {data._normal(t) for family in families for texts in family for t in texts}
    assert len(written - asked) <= len(written) // 50  # a re-asked form may stand in for its text
    assert sum(same for _, _, same in added) > 8_000
    assert sum(1 - same for _, _, same in added) > 6_000


def test_v15_is_v14_plus_a_subject_asked_in_several_aspects() -> None:
    """v15 keeps every v14 pair and adds each subject's aspects: an aspect's phrasings "same", two aspects of one
    subject ("What causes gout?" / "How is gout treated?") and one aspect of two subjects "different"."""
    data = _judge_data()
    v14, v15 = (set(data.build(8, v)) for v in ("v14", "v15"))
    assert not v14 - v15
    added = v15 - v14
    assert sum(same for _, _, same in added) > 2_500
    assert sum(1 - same for _, _, same in added) > 5_000
    aspects = ("symptoms", "causes of illness", "treatment", "prevention")
    asked = {a: [_normal(q.format(x="gout")) for q in data.ASPECTS[a]] for a in aspects}

    def aspect_of(text: str) -> str | None:  # None: a typo landed in the question
        found = {a for a, questions in asked.items() if any(q in _normal(text) for q in questions)}
        return found.pop() if len(found) == 1 else None

    labelled = [(aspect_of(a), aspect_of(b), same) for a, b, same in added if "gout" in a + b]
    read = [(x, y, same) for x, y, same in labelled if x and y]
    assert len(read) >= len(labelled) // 2
    assert all(same == (x == y) for x, y, same in read)
    assert {same for _, _, same in read} == {0, 1}
    assert {x for x, _, same in read if not same} == set(aspects)


def test_v16_is_v15_plus_support_subjects_asked_in_several_aspects() -> None:
    """v16 keeps every v15 pair and adds support subjects' aspects: how long an international wire transfer takes
    and what it costs are "different" questions, two wordings of what it costs "same"."""
    data = _judge_data()
    v15, v16 = (set(data.build(8, v)) for v in ("v15", "v16"))
    assert not v15 - v16
    added = v16 - v15
    assert sum(same for _, _, same in added) > 2_000 and sum(1 - same for _, _, same in added) > 5_000
    aspects = ("fee", "duration", "limit", "cancel money", "track", "details needed")
    subject = ("an international wire transfer", "international wire transfer")
    asked = {a: [_normal(q) for q in data.support_aspects.asked(a, subject)] for a in aspects}

    def aspect_of(text: str) -> str | None:  # None: a typo landed in the question, or it reads as two
        found = {a for a, questions in asked.items() if any(q in _normal(text) for q in questions)}
        return found.pop() if len(found) == 1 else None

    labelled = [(aspect_of(a), aspect_of(b), same) for a, b, same in added if "international wire" in a + b]
    read = [(x, y, same) for x, y, same in labelled if x and y]
    assert len(read) >= len(labelled) // 3  # typos land in many of these short questions
    assert all(same == (x == y) for x, y, same in read)
    assert {x for x, _, same in read if not same} == set(aspects)

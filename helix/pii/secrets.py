"""Presidio recognizers for secrets people paste into prompts, built from `helix.pii.secret_patterns`
(only the value is reported, so the key name stays readable)."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Sequence

from mnemonic import Mnemonic
from presidio_analyzer import (
    AnalysisExplanation,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts

from helix.pii.fast_regex import compile_fast, trie_pattern
from helix.pii.prescreen import Needs, literals
from helix.pii.secret_patterns import (
    API_KEY_PATTERNS,
    AWS_ACCESS_KEY_PATTERNS,
    AWS_SECRET_CONTEXT,
    AWS_SECRET_KEY_PATTERNS,
    COMMON_PREFIX_KEY_PATTERNS,
    DISCORD_PATTERNS,
    FLAGS,
    JWT_PATTERNS,
    PASSWORD_PATTERNS,
    PRIVATE_KEY_PATTERNS,
    SECRET_PATTERNS,
    TWILIO_PATTERNS,
    SecretPattern,
)


class SecretRecognizer(PatternRecognizer):
    """A PatternRecognizer whose span is the named group `value` when the pattern has one."""

    name: str

    def __init__(
        self,
        entity: str,
        name: str,
        patterns: Sequence[SecretPattern],
        context: list[str] | None = None,
        precheck: Callable[[str], bool] | None = None,
    ) -> None:
        """`precheck`: what a text must pass before any pattern is tried, for patterns whose hints most texts hold
        (the scanner's gate for this recognizer too)."""
        super().__init__(
            supported_entity=entity,
            name=name,
            patterns=[Pattern(p.name, p.regex, p.score) for p in patterns],
            context=context or [],
            global_regex_flags=FLAGS,
        )
        self._specs = [(p, compile_fast(p.regex, FLAGS)) for p in patterns]
        self.precheck = precheck
        # One scan for every pattern's hints: most texts hold none, and then no pattern can match.
        hinted = all(p.hints for p in patterns)
        self.hints = sorted({h for p in patterns for h in p.hints}) if hinted else []
        self._any_hint = re.compile(trie_pattern(self.hints)) if self.hints else None

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        if self.precheck is not None and not self.precheck(text):
            return []
        lowered = text.lower()
        if self._any_hint is not None and self._any_hint.search(lowered) is None:
            return []
        results: list[RecognizerResult] = []
        lines: dict[tuple[str, ...], list[tuple[int, int]]] = {}  # patterns share their hints
        held: dict[tuple[tuple[str, ...], bool], bool] = {}  # ...so each set of hints is looked for once

        def holds(hints: tuple[str, ...], as_written: bool) -> bool:
            key = (hints, as_written)
            if key not in held:  # one hint (most): no generator, ~0.3 us less
                within = text if as_written else lowered
                held[key] = hints[0] in within if len(hints) == 1 else any(h in within for h in hints)
            return held[key]

        for spec, compiled in self._specs:
            if (spec.hints and not holds(spec.hints, False)) or (spec.also and not holds(spec.also, True)):
                continue
            spans = [(0, len(text))]
            if spec.line_local:
                if spec.hints not in lines:
                    lines[spec.hints] = hint_lines(text, lowered, spec.hints)
                spans = lines[spec.hints]
            has_value = "value" in compiled.groupindex
            for a, b in spans:
                for match in compiled.finditer(text, a, b):
                    start, end = match.span("value") if has_value else match.span()
                    while end > start and text[end - 1] in spec.strip_trailing:
                        end -= 1
                    if end - start < spec.min_length or (spec.check and not spec.check(text[start:end])):
                        continue
                    if spec.match_check is not None and not spec.match_check(match):
                        continue
                    results.append(self._result(spec, start, end))
        return EntityRecognizer.remove_duplicates(results)

    def _result(self, spec: SecretPattern, start: int, end: int) -> RecognizerResult:
        # The context enhancer writes into analysis_explanation, so it must exist.
        explanation = AnalysisExplanation(
            recognizer=self.name,
            original_score=spec.score,
            pattern_name=spec.name,
            textual_explanation=f"Detected by `{self.name}` using pattern `{spec.name}`",
        )
        return RecognizerResult(
            entity_type=self.supported_entities[0],
            start=start,
            end=end,
            score=spec.score,
            analysis_explanation=explanation,
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )


class SeedPhraseRecognizer(EntityRecognizer):
    """A crypto wallet's recovery phrase with no word naming it ("I restored my wallet with canyon ribbon orbit ..."):
    12, 15, 18, 21 or 24 words in a row from BIP39's list of 2,048 (python-mnemonic's). Prose cannot make one by
    chance: the list holds no word shorter than three letters and none of "the", "with", "you". Words apart by single
    spaces on one line are enough; otherwise (a list with commas, one word a line, "1." numbering) the phrase's
    checksum must hold, so a list of twelve fruits is not one, unless the text names a seed or a mnemonic. Whoever has
    the words has the wallet."""

    name: str

    def __init__(self) -> None:
        self._bip39 = Mnemonic("english")
        self._words = frozenset(self._bip39.wordlist)
        super().__init__(supported_entities=["SECRET"], name="SeedPhraseRecognizer")

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        # Word by word at C speed (~25 us for 2 KB; a regex over the words took 80): the text's words as bytes, 1
        # where a word is on the list, and a search for twelve 1s.
        words = text.translate(_APART).split()
        listed = bytes(map(self._words.__contains__, words))
        results = []
        at, searched_to = listed.find(_TWELVE), 0
        while at >= 0:
            end = listed.find(0, at)
            end = len(listed) if end < 0 else end
            phrase = self._phrase(words[at:end])
            if phrase is not None:
                run = re.compile(r"(?<![A-Za-z])" + "[^A-Za-z]+".join(phrase[0]) + r"(?![A-Za-z])")
                match = run.search(text, searched_to)
                if match is not None and (phrase[1] or _SPACED.fullmatch(match.group()) or _SEED_CUE.search(text)):
                    results.append(self._result(*match.span()))
                    searched_to = match.end()
            at = listed.find(_TWELVE, end)
        return results

    def _phrase(self, run: list[str]) -> tuple[list[str], bool] | None:
        """The phrase in a run of listed words and whether its checksum holds: the longest whose does, else the
        run's last 12, 15... words (a listed word may come before the phrase: "seed: abandon ...")."""
        if len(run) > _LENGTHS[-1] + 3:
            return None  # longer than any phrase and the words that may lead into one
        fits = [n for n in _LENGTHS if n <= len(run)]
        for n in reversed(fits):
            for first in range(len(run) - n + 1):
                if self._bip39.check(" ".join(run[first : first + n])):
                    return run[first : first + n], True
        return run[len(run) - fits[-1] :], False

    def _result(self, start: int, end: int) -> RecognizerResult:
        explanation = AnalysisExplanation(
            recognizer=self.name, original_score=0.9, textual_explanation="BIP39 recovery words in a row"
        )
        return RecognizerResult("SECRET", start, end, 0.9, explanation)


_LENGTHS = (12, 15, 18, 21, 24)  # BIP39's phrase lengths
_TWELVE = b"\x01" * _LENGTHS[0]
_APART = str.maketrans(dict.fromkeys(string.punctuation + string.digits, " "))  # what may stand between the words
_SPACED = re.compile(r"[a-z]+(?: [a-z]+)+")
# set AC: a wallet's export names what it prints ("wallet export --mnemonic" over numbered lines of words): words so
# named need no checksum (one mistyped word fails it, and the rest are still the wallet's)
_SEED_CUE = re.compile(r"(?i)\b(?:mnemonic|seed(?: phrase| words)?|(?:recovery|secret|backup) (?:phrase|words))\b")


def seed_phrase_hint(text: str) -> bool:
    """Whether `text` may hold twelve words: eleven spaces or line breaks (a count, cheaper than any search)."""
    return text.count(" ") + text.count("\n") >= _LENGTHS[0] - 1


SEED_PHRASE_NEEDS = Needs(text=(rf"[ \n](?:[^ \n]*[ \n]){{{_LENGTHS[0] - 2}}}",))


def twilio_sid_hint(text: str) -> bool:
    """Whether `text` may hold a Twilio account or API key SID: the patterns' hints ("ac", "sk") are in most texts,
    the SIDs' "AC" and "SK" in few, and a substring test on the text itself is the cheapest test of all."""
    return "AC" in text or "SK" in text


# A Discord bot token's middle part: six characters between two dots, which `re` finds by skipping to each dot.
_DISCORD_TIMESTAMP = re.compile(r"\.[A-Za-z0-9_-]{6}\.")


def discord_token_hint(text: str) -> bool:
    """Whether `text` may hold a Discord bot token: they have no prefix to hint at them, so their pattern runs only
    over a text holding their middle part."""
    return _DISCORD_TIMESTAMP.search(text) is not None


def common_prefix_hint(text: str) -> bool:
    """Whether `text` may hold a key whose prefix is common in code ("sk_", "pat", "re_", "-us"): substring tests
    of the text as written (the keys are lower-case there), so these hints stay out of the scanner's word gates, which
    most texts pass without a test of any recognizer's own."""
    # A one-character test first (`memchr`): several times cheaper than a search for three.
    return (
        ("_" in text and ("sk_" in text or "re_" in text))
        or ("-" in text and "-us" in text)
        or ("." in text and "pat" in text)
    )


# What a text needs for each precheck to say yes.
PRECHECK_NEEDS: dict[Callable[[str], bool], Needs] = {
    twilio_sid_hint: Needs(text=(literals("AC", "SK"),)),
    discord_token_hint: Needs(text=(_DISCORD_TIMESTAMP.pattern,)),
    common_prefix_hint: Needs(text=(literals("sk_", "re_", "-us", "pat"),)),
}


def hint_lines(text: str, lowered: str, hints: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) of each line of `text` that holds one of `hints` (`lowered` is `text.lower()`),
    in order. A pattern scanned from `start` to `end` sees the newline (or the text's edge) beside
    the line as it would in the whole text."""
    if len(lowered) != len(text):  # a character whose lower case is longer ("İ"): offsets differ
        return [(a, b) for a, b, low in _lines(text) if any(h in low for h in hints)]
    spans = set()
    for hint in hints:
        at = lowered.find(hint)
        while at != -1:
            start = lowered.rfind("\n", 0, at) + 1
            end = lowered.find("\n", at)
            end = len(lowered) if end < 0 else end
            spans.add((start, end))
            at = lowered.find(hint, end)
    return sorted(spans)


def _lines(text: str) -> list[tuple[int, int, str]]:
    """(start, end, lower-cased text) of each line. A pattern scanned from `start` to `end` sees the
    newline (or the text's edge) beside the line as it would in the whole text."""
    out = []
    start = 0
    for line in text.split("\n"):
        out.append((start, start + len(line), line.lower()))
        start += len(line) + 1
    return out


def secret_recognizers(entities: set[str] | None = None) -> list[EntityRecognizer]:
    """The secret recognizers for the requested entity types (all of them when None)."""
    table: list[tuple[str, str, list[SecretPattern], list[str] | None, Callable[[str], bool] | None]] = [
        ("API_KEY", "ApiKeyRecognizer", API_KEY_PATTERNS, None, None),
        ("API_KEY", "TwilioTokenRecognizer", TWILIO_PATTERNS, None, twilio_sid_hint),
        ("API_KEY", "DiscordTokenRecognizer", DISCORD_PATTERNS, None, discord_token_hint),
        ("API_KEY", "CommonPrefixKeyRecognizer", COMMON_PREFIX_KEY_PATTERNS, None, common_prefix_hint),
        ("AWS_ACCESS_KEY", "AwsAccessKeyRecognizer", AWS_ACCESS_KEY_PATTERNS, None, None),
        ("AWS_SECRET_KEY", "AwsSecretKeyRecognizer", AWS_SECRET_KEY_PATTERNS, AWS_SECRET_CONTEXT, None),
        ("PRIVATE_KEY", "PrivateKeyRecognizer", PRIVATE_KEY_PATTERNS, None, None),
        ("JWT", "JwtRecognizer", JWT_PATTERNS, None, None),
        ("PASSWORD", "PasswordRecognizer", PASSWORD_PATTERNS, None, None),
        ("SECRET", "SecretAssignmentRecognizer", SECRET_PATTERNS, None, None),
    ]
    recognizers: list[EntityRecognizer] = [
        SecretRecognizer(entity, name, patterns, context, precheck)
        for entity, name, patterns, context, precheck in table
        if entities is None or entity in entities
    ]
    if entities is None or "SECRET" in entities:
        recognizers.append(SeedPhraseRecognizer())
    return recognizers

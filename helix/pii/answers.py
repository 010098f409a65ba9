"""PII the model writes in its own answers: redacted before the answer is cached, and optionally
before the client sees it (`[pii] scan_responses`).

Whole answers go through the same walk and engine as requests (`redact_body(..., answer=True)`):
`block` and `pseudonymize` redact instead, since an answer can neither be refused nor restored.

`StreamScrubber` redacts one text channel of a stream (a choice's content, one tool call's
arguments) without holding the stream back: it passes text on once it is `HOLD_CHARS` behind the
newest token (so a value still being written is never cut in two), cut at whitespace and never
inside a finding, and analyses each new window together with the last `BEHIND_CHARS` it already
passed on (context words like "phone:" count; values that started there are cut off at the seam).
Each analysis covers at most `BEHIND_CHARS` + what arrived since the last one (~`HOLD_CHARS` +
`STEP_CHARS` plus one delta), so its cost does not grow with the length of the answer; but one
finding as long as all that is held (a private key being written) can pass nothing on, so the
next analysis waits for the held text to double: its cost stays linear in the answer's length.
"""

from __future__ import annotations

from helix.pii.analyzer import Finding
from helix.pii.redact import Redactor, Text

HOLD_CHARS = 200
STEP_CHARS = 120  # analyse once this much new text has arrived beyond the hold
BEHIND_CHARS = 64


class StreamScrubber:
    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._pending = ""
        self._behind = ""
        self._due_at = HOLD_CHARS + STEP_CHARS  # held characters at which the next analysis runs

    @property
    def held_back(self) -> int:
        """Characters received and not passed on yet."""
        return len(self._pending)

    def analyses(self, delta: str) -> bool:
        """Whether `feed(delta)` runs an analysis (the caller may want it off the event loop)."""
        return len(self._pending) + len(delta) >= self._due_at

    def feed(self, delta: str) -> str:
        due = self.analyses(delta)
        self._pending += delta
        return self._emit(final=False) if due else ""

    def flush(self) -> str:
        return self._emit(final=True) if self._pending else ""

    def _emit(self, *, final: bool) -> str:
        behind, pending = self._behind, self._pending
        window = behind + pending
        plan = self._redactor.plan([Text(window, conversation=False)], answer=True)
        found = plan.locate(self._redactor.engine.analyze_many(plan.texts))[0]
        shift = len(behind)
        findings = [
            Finding(f.entity_type, max(0, f.start - shift), f.end - shift, f.score) for f in found if f.end > shift
        ]
        cut = len(pending) if final else _cut(pending, len(pending) - HOLD_CHARS, findings)
        out = self._redactor.apply([Text(pending[:cut])], [[f for f in findings if f.end <= cut]], answer=True)
        self._pending = pending[cut:]
        self._behind = (behind + pending[:cut])[-BEHIND_CHARS:]
        self._due_at = max(HOLD_CHARS + STEP_CHARS, 2 * len(self._pending) if cut == 0 else 0)
        return out.texts[0]


def _cut(text: str, limit: int, findings: list[Finding]) -> int:
    """Where to stop passing text on: at or before `limit`, after whitespace, never inside a finding."""
    space = max(text.rfind(" ", 0, limit), text.rfind("\n", 0, limit))
    cut = space + 1 if space > 0 else limit
    for f in findings:
        if f.start < cut < f.end:
            cut = f.start
    return cut

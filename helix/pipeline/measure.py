"""Measure stage: counts each request for /metrics once its outcome is final (after a stream's last chunk)."""

from __future__ import annotations

from helix.call import Call, Next, Reply
from helix.metrics import Metrics


class MeasureStage:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def __call__(self, call: Call, next: Next) -> Reply:
        self._metrics.started()
        # Run by the log stage, in front of this one, with the final outcome: an answer, an error, a stream's end, or
        # the client gone (499), so exactly once a request.
        call.on_finish.append(self._metrics.observe)
        return await next(call)

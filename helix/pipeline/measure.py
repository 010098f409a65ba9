"""Measure stage: counts each request for /metrics once its outcome is final (after a stream's last chunk)."""

from __future__ import annotations

import asyncio

from helix.call import Call, Next, Reply
from helix.metrics import Metrics


class MeasureStage:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def __call__(self, call: Call, next: Next) -> Reply:
        self._metrics.started()
        call.on_finish.append(self._metrics.observe)  # run by the log stage with the final outcome
        try:
            return await next(call)
        except asyncio.CancelledError:
            self._metrics.cancelled()  # the log stage does not see a cancelled call
            raise

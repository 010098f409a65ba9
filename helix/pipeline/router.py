"""The route stage (last): send the call to a deployment, retrying, failing over and falling back.

For each group of the call's route (the model's deployments, then each fallback model, in order):
try the deployments the balancer orders, once each; then, while `[routing] retries` last, the best one
again after an exponential backoff with jitter (or the provider's Retry-After). All of it within the
request's deadline (`[routing] deadline`, or the `x-helix-timeout` header). A stream is only retried
before its first chunk: the router reads that chunk itself, so nothing reached the client yet.

The answer says who served it: `x-helix-provider`, `x-helix-model`, `x-helix-attempts`. `call.target` is
left on the deployment that served, so the log, the cache and the key's budget charge that one.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from helix.call import Call, Completed, Reply, Streamed, Usage
from helix.errors import HelixError, InvalidRequest, NotForThisProvider, UpstreamTimeout
from helix.pii.scrub import quoted
from helix.pipeline.headers import TIMEOUT_HEADER, deadline_left
from helix.pipeline.route import send_to_provider
from helix.pricing import PriceBook
from helix.quota.estimate import prompt_tokens
from helix.routing import balancer
from helix.routing.deployment import Deployment
from helix.routing.retry import Verdict, backoff, classify, counts_against, retry_after
from helix.routing.table import Group, RoutingTable

_monotonic = time.monotonic


class RouteEvents(Protocol):
    """What the router reports (to /metrics)."""

    def retried(self, deployment: Deployment) -> None: ...
    def fell_back(self, model: str, to: str) -> None: ...
    def cooled(self, deployment: Deployment) -> None: ...


@dataclass(slots=True)
class _Tries:
    """One request's attempts so far, across the groups of its route."""

    deadline: float  # monotonic seconds
    attempts: int = 0
    last: HelixError | None = None
    not_taken: NotForThisProvider | None = None  # a deployment that could not take the request as asked


class Router:
    def __init__(self, table: RoutingTable, prices: PriceBook, events: RouteEvents | None = None) -> None:
        self.table = table
        self._settings = table.settings
        self._prices = prices
        self._events = events

    async def __call__(self, call: Call, next: Any = None) -> Reply:
        settings = self._settings
        route = self.table.route(call.requested_model, call.target)
        left = deadline_left(call, settings.deadline)[1]
        # Every attempt is bounded by a timer (~10 us), also when the deadline is longer than the upstream read
        # timeout: that one bounds each read, not the attempt, and an upstream that trickles its answer a byte
        # at a time (or pings a stream before its first event) would otherwise hold the request for ever. Counted
        # from the request's arrival: time it waited for a budget's room or the same request in flight is spent.
        tries = _Tries(_monotonic() + left)
        if _monotonic() >= tries.deadline:  # spent waiting: nothing is sent, no deployment is blamed
            raise _said(_out_of_time(call, None), call, 0)
        tokens: int | None = None
        cooling: list[tuple[Group, Sequence[Deployment], str | None]] = []  # groups passed over untried, all out
        for index, group in enumerate(route.groups):
            fits: Sequence[Deployment] = group.deployments
            if group.windows and settings.context_window_fallback:
                tokens = prompt_tokens(call) if tokens is None else tokens
                fits = [d for d in fits if d.max_input_tokens is None or d.max_input_tokens >= tokens]
            tried = tries.attempts
            fallback_of = route.groups[0].name if index else None
            reply = await self._try_group(call, group, fits, index == len(route.groups) - 1, tries, fallback_of)
            if reply is not None:
                return reply
            if tries.attempts == tried and fits and tries.not_taken is None:
                cooling.append((group, fits, fallback_of))
            if _monotonic() >= tries.deadline:
                break
        # Nothing sent: the fallbacks could not take the request as asked (an Anthropic model and `n` > 1). A
        # deployment cooling down is then tried as the last group's would be, not the client told its request is wrong.
        if not tries.attempts and tries.not_taken is not None and _monotonic() < tries.deadline:
            for group, fits, fallback_of in cooling:
                reply = await self._try_group(call, group, fits, True, tries, fallback_of)
                if reply is not None:
                    return reply
                if tries.attempts:
                    break
        last = tries.last or tries.not_taken
        if last is None:
            raise InvalidRequest(
                f"the prompt (about {tokens} tokens) is longer than any deployment of {quoted(call.requested_model)} "
                "takes (max_input_tokens): shorten it or add a model with a larger context window",
                param="messages",
                code="context_length_exceeded",
            )
        if _monotonic() >= tries.deadline and not isinstance(last, UpstreamTimeout):
            last = _out_of_time(call, last)
        raise _said(last, call, tries.attempts) from None

    async def _try_group(
        self,
        call: Call,
        group: Group,
        fits: Sequence[Deployment],
        last_group: bool,
        tries: _Tries,
        fallback_of: str | None,
    ) -> Reply | None:
        """Each deployment of `group` that may take traffic, once, in the balancer's order; then, while
        `[routing] retries` last, the best one again after a backoff. None: the group did not serve the call
        (`tries.last` says why); a failure that is the client's fault is raised at once. `fallback_of`: the model the
        route began with, when this group is one of its fallbacks (counted as taken at its first send)."""
        settings = self._settings
        now = _monotonic()
        ordered = balancer.order(fits, group.strategy, now, self._price_of)
        first_pass = [d for d in ordered if d.health.available(now)]
        last_resort = not first_pass and last_group
        if last_resort:
            first_pass = ordered[:1]  # none may take traffic and no fallback is left: the one back soonest
        retries, done = settings.retries, set()  # done: NEXT verdicts, never retried here
        sent_before = tries.attempts
        wait_asked: float | None = None
        while True:
            if first_pass:
                deployment = first_pass.pop(0)
                if tries.attempts and not last_resort and not deployment.health.available(_monotonic()):
                    continue  # while an earlier one was tried, it cooled down or another request's probe went out
            else:
                now = _monotonic()
                left = [d for d in ordered if d.name not in done and (last_group or d.health.available(now))]
                if not left or retries <= 0:
                    return None
                retries -= 1
                deployment = balancer.order(left, group.strategy, now, self._price_of)[0]
                delay = backoff(settings.retries - retries, settings.backoff, settings.max_backoff, wait_asked)
                if _monotonic() + delay >= tries.deadline:
                    return None
                if self._events is not None:
                    self._events.retried(deployment)
                await asyncio.sleep(delay)
                call.upstream_seconds += delay
            if tries.attempts and _monotonic() >= tries.deadline:
                return None
            if fallback_of is not None and self._events is not None and tries.attempts == sent_before:
                # a fallback taken: counted at its first send (one passed over untried is none)
                self._events.fell_back(fallback_of, group.name)
            tries.attempts += 1
            try:
                reply = await self._attempt(call, deployment, tries.deadline)
            except NotForThisProvider as exc:
                # not sent: another deployment may take the request; the client hears of it only if none was tried,
                # else of the last attempt's own failure (not a 400 for a request that was fine where it was sent)
                tries.attempts -= 1
                tries.not_taken = tries.not_taken or exc
                deployment.health.inconclusive()
                done.add(deployment.name)
                continue
            except HelixError as exc:
                tries.last = exc
                verdict = classify(exc, settings.max_retry_wait)
                self._failed(deployment, exc)
                if verdict is Verdict.STOP:
                    raise _said(exc, call, tries.attempts) from None
                if verdict is Verdict.NEXT:
                    done.add(deployment.name)
                wait_asked = retry_after(exc.headers)
                continue
            call.response_headers["x-helix-model"] = deployment.target.model
            call.response_headers["x-helix-attempts"] = str(tries.attempts)
            return reply

    def _price_of(self, deployment: Deployment) -> float:
        price = self._prices.price(deployment.target.provider.name, deployment.target.model)
        return math.inf if price is None else price.input + price.output

    async def _attempt(self, call: Call, deployment: Deployment, deadline: float) -> Reply:
        call.target = deployment.target
        provider = deployment.target.provider
        began = _monotonic()
        deployment.health.begin(began)
        deployment.started(began)
        first_token = deployment.first_token_timeout or self._settings.first_token_timeout
        limit = deadline - began
        if deployment.timeout is not None:
            limit = min(limit, deployment.timeout)
        if first_token is not None:
            limit = min(limit, first_token)
        call.asking = True
        call.answering = False
        try:
            async with asyncio.timeout(limit):
                reply = await self._send(call, deployment, began)
        except TimeoutError:
            call.asking = False
            deployment.finished()
            if call.answering and not call.stream:  # a whole answer begun (its headers came) and cut: billed
                call.cut_answers += (call.target,)
            # cut short by what the request had left (its own timeout, time spent waiting or on earlier attempts), not
            # by a deadline any request has: no verdict on the deployment
            short = limit == deadline - began and limit < self._settings.deadline
            error = _CutShort if short else UpstreamTimeout
            raise error(
                f"{provider.name}: no answer from {deployment.target.model} within {limit:.3g} s",
                provider=provider.name,
            ) from None
        except HelixError:  # counted by the caller (`_failed`)
            call.asking = False
            deployment.finished()
            raise
        except BaseException:  # cancelled: the client left
            deployment.finished()
            deployment.health.inconclusive()
            raise
        if isinstance(reply, Completed):
            deployment.finished()
            deployment.latency.observe(_monotonic() - began, _monotonic())
            deployment.health.succeeded()
            _count_tokens(deployment, reply.body.get("usage"))
        return reply

    async def _send(self, call: Call, deployment: Deployment, began: float) -> Reply:
        reply = await send_to_provider(call)
        if isinstance(reply, Streamed):
            return await self._first_chunk(reply, deployment, began)
        return reply

    async def _first_chunk(self, reply: Streamed, deployment: Deployment, began: float) -> Streamed:
        chunks = reply.chunks
        try:
            first = await anext(chunks)
        except StopAsyncIteration:
            first = None
        except BaseException:
            await _close(chunks)
            raise
        now = _monotonic()
        deployment.latency.observe(now - began, now)
        if first is None:
            deployment.health.succeeded()
        total = deployment.timeout
        ends = began + total if total is not None else None
        return Streamed(self._rest(first, chunks, deployment, ends))

    async def _rest(
        self,
        first: dict[str, Any] | None,
        chunks: AsyncIterator[dict[str, Any]],
        deployment: Deployment,
        ends: float | None,
    ) -> AsyncIterator[dict[str, Any]]:
        # A stream counts for its deployment's health once it ends: one that breaks off after its first chunk (a
        # reset, an error event) is a failure toward a cooldown, or a deployment failing every stream mid-way would
        # stay "healthy" and, answering its first chunk fast, be preferred by least-latency. Its tokens count once,
        # at its end: the last usage it sent (some servers send the running total on every chunk).
        usage = None if first is None else first.get("usage")
        try:
            if first is None:
                return
            yield first
            if ends is None:
                async for chunk in chunks:
                    if "usage" in chunk:
                        usage = chunk["usage"]
                    yield chunk
                deployment.health.succeeded()
                return
            while True:
                try:
                    async with asyncio.timeout_at(_loop_time(ends)):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    deployment.health.succeeded()
                    return
                except TimeoutError:
                    name = deployment.target.provider.name
                    raise UpstreamTimeout(
                        f"{name}: {deployment.target.model} took longer than its timeout ({deployment.timeout:g} s)",
                        provider=name,
                    ) from None
                if "usage" in chunk:
                    usage = chunk["usage"]
                yield chunk
        except HelixError as error:
            self._failed(deployment, error)
            raise
        except BaseException:  # the client left mid-stream
            deployment.health.inconclusive()
            raise
        finally:
            deployment.finished()
            _count_tokens(deployment, usage)
            await _close(chunks)

    def _failed(self, deployment: Deployment, error: HelixError) -> None:
        if not counts_against(error) or isinstance(error, _CutShort):
            deployment.health.inconclusive()
            return
        limited = error.status == 429
        cooled = deployment.health.failed(_monotonic(), rate_limited=limited, retry_after=retry_after(error.headers))
        if cooled and self._events is not None:
            self._events.cooled(deployment)


class _CutShort(UpstreamTimeout):
    """An attempt cut by the request's own deadline, not by the deployment's timeouts: the request ran out of time,
    which says nothing of the deployment's health."""


def _out_of_time(call: Call, last: HelixError | None) -> HelixError:
    seconds = call.headers.get(TIMEOUT_HEADER)
    why = f"x-helix-timeout {seconds} s" if seconds else "[routing] deadline"
    detail = f"; the last attempt failed: {last.message}" if last is not None else ""
    return UpstreamTimeout(
        f"no deployment of {quoted(call.requested_model)} answered within the {why}{detail}",
        provider=last.provider if last is not None else call.target.provider.name,
    )


def _said(error: HelixError, call: Call, attempts: int) -> HelixError:
    error.headers = {**error.headers, "x-helix-attempts": str(attempts)}
    if attempts:
        error.headers["x-helix-model"] = call.target.model
    return error


def _count_tokens(deployment: Deployment, usage: Any) -> None:
    """The answer's tokens against its deployment's minute: as the log reads them, so a provider's garbage (10**30, a
    total that is no count) does not fill a `tpm` for the rest of the minute."""
    if deployment.tpm is not None and (counts := Usage.from_openai(usage)) is not None:
        deployment.used_tokens(counts.prompt_tokens + counts.completion_tokens, _monotonic())


def _loop_time(monotonic_deadline: float) -> float:
    loop = asyncio.get_running_loop()
    return loop.time() + (monotonic_deadline - _monotonic())


async def _close(chunks: AsyncIterator[dict[str, Any]]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()

"""How long a provider asked to wait (Retry-After, retry-after-ms): read safely for the router's retries and
cooldowns, and passed on to clients in whole seconds."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime

# The longest wait a provider's Retry-After is taken for, by the router and by the client Helix passes it to: a
# 1e9 or a date in 2099 (a broken or hostile provider's) must not park a deployment, or a client, for years.
MAX_RETRY_AFTER_SECONDS = 3600.0


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds a provider asked to wait, at most MAX_RETRY_AFTER_SECONDS: retry-after-ms, then Retry-After as
    seconds or an HTTP date (one in the past is 0); None when neither says a wait as HTTP words one.

    Retry-After is RFC 9110's: delay-seconds (ASCII digits) or an HTTP-date; a decimal fraction ('0.8', which some
    servers write) is read too, as is one in retry-after-ms (OpenAI's, not in the RFC). What float() alone would
    take besides ('1_000', '+5', '1e3', 'nan', 'inf', '-3', '٣', ' 5 6') is no wait."""
    ms = _number(headers.get("retry-after-ms"))
    if ms is not None:
        return min(ms / 1000, MAX_RETRY_AFTER_SECONDS)
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is None:
        seconds = _http_date(value)
        if seconds is None:
            return None
    return min(seconds, MAX_RETRY_AFTER_SECONDS)


_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# An HTTP-date (RFC 9110 5.6.7): IMF-fixdate 'Sun, 06 Nov 1994 08:49:37 GMT', or the obsolete RFC 850
# 'Sunday, 06-Nov-94 08:49:37 GMT' and asctime 'Sun Nov  6 08:49:37 1994' forms a recipient must also read.
_HTTP_DATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
    r"|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, [0-9]{2}-[A-Z][a-z]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
    r"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}"
)


def _number(value: str | None) -> float | None:
    """The number of ASCII digits (and perhaps a decimal fraction) `value` is, spaces around it aside, or None."""
    if value is None or len(value) > 40:
        return None
    value = value.strip(" \t")
    return float(value) if _DECIMAL.fullmatch(value) else None


def _http_date(value: str) -> float | None:
    """Seconds until the HTTP-date `value` (0 when it is past), or None when it is no HTTP-date."""
    value = value.strip(" \t")
    if len(value) > 40 or not _HTTP_DATE.fullmatch(value):
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if when.tzinfo is None:  # asctime and '-0000' carry no zone: an HTTP-date is always in GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())


def wait_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A provider's wait as Helix passes it on: Retry-After in whole seconds (as RFC 9110 has it, an HTTP date
    turned into them) and retry-after-ms (which OpenAI's SDKs read first); none when it could not be read."""
    wait = retry_after(headers)
    if wait is None:
        return {}
    return {"retry-after": str(math.ceil(wait)), "retry-after-ms": str(math.ceil(wait * 1000))}

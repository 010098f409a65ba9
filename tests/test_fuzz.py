"""Property-based fuzzing of every operation in the app's own OpenAPI schema, through the real server.

Hypothesis builds bodies (OpenAI-shaped and not), Helix's own headers and path parameters; whatever it
sends, Helix must never answer with a 5xx of its own making. A 5xx that carries `provider` in its error
is the (fake) upstream's, passed on, and is allowed. Bounded: a few hundred examples, a few seconds.
"""

from __future__ import annotations

import json
import os
import re
import string
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.conftest import Helix, add_key, start_helix
from tests.fake_upstream import FakeState, ServerThread

ADMIN = "hxa-fuzz-admin-key-0123456789abcdef"
# CI runs a fixed, bounded set; HELIX_FUZZ_EXAMPLES=5000 HELIX_FUZZ_SEED=... probes further by hand.
EXAMPLES = int(os.environ.get("HELIX_FUZZ_EXAMPLES", "300"))
SEED = os.environ.get("HELIX_FUZZ_SEED")

# What an HTTP client can send at all: printable ASCII, no surrounding whitespace.
_header_text = st.text(alphabet=string.printable.strip() + " ", max_size=40).map(lambda v: v.strip() or "x")
_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
_models = st.sampled_from(
    ["gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-3-5-haiku-latest", "nope/x", ""]
) | st.text(max_size=30)
_message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "system", "assistant", "tool", "developer"]) | st.text(max_size=8)},
    optional={
        "content": st.text(max_size=60) | _json,
        "name": _scalars,
        "tool_calls": _json,
        "tool_call_id": _scalars,
    },
)
_chat = st.fixed_dictionaries(
    {"model": _models, "messages": st.lists(_message, max_size=3)},
    optional={
        "stream": st.booleans() | _scalars,
        "stream_options": st.fixed_dictionaries({}, optional={"include_usage": st.booleans() | _scalars}) | _json,
        "n": st.integers(min_value=-3, max_value=3) | _scalars,
        "max_tokens": st.integers() | _scalars,
        "temperature": st.floats() | _scalars,
        "top_p": st.floats() | _scalars,
        "user": st.text(max_size=300) | _scalars,
        "stop": _json,
        "tools": _json,
        "metadata": _json,
    },
)
_embeddings = st.fixed_dictionaries(
    {"model": _models, "input": st.text(max_size=40) | st.lists(st.text(max_size=10), max_size=3) | _json},
    optional={"user": _scalars},
)
_admin_key = st.fixed_dictionaries(
    {"name": st.text(max_size=20) | _scalars},
    optional={
        "budget": st.floats() | st.integers() | _scalars,
        "period": st.sampled_from(["day", "week", "month", "total"]) | _scalars,
        "user_budget": st.floats() | _scalars,
        "rpm": st.integers() | _scalars,
        "tpm": st.integers() | _scalars,
        "models": _json,
        "expires": st.sampled_from(["1d", "3000000d", "never", "1e9w", "-1d"]) | _scalars,
    },
)
_bodies = _chat | _embeddings | _admin_key | _json
_helix_headers = st.fixed_dictionaries(
    {},
    optional={
        "x-helix-cache-ttl": _header_text | st.sampled_from(["nan", "inf", "-1", "1e308", "60"]),
        "x-helix-cache-threshold": _header_text | st.sampled_from(["nan", "0.5", "2"]),
        "x-helix-cache-namespace": _header_text,
        "x-helix-user": _header_text,
        "cache-control": st.sampled_from(["no-cache", "no-store", "no-cache, no-store"]) | _header_text,
    },
)
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory, upstream: tuple[ServerThread, FakeState]) -> Iterator[Helix]:
    toml = f'[server]\nhost = "0.0.0.0"\n[auth]\nadmin_key = "{ADMIN}"\n[pii]\nenabled = false\n'
    upstream[1].record = False
    instance = start_helix(tmp_path_factory.mktemp("fuzz"), upstream[0].url, toml)
    yield instance
    instance.server.stop()
    upstream[1].record = True


def operations(helix: Helix) -> list[tuple[str, str]]:
    schema = httpx.get(f"{helix.url}/openapi/openapi.json", headers={"authorization": f"Bearer {ADMIN}"}).json()
    found = [
        (method.upper(), path) for path, item in schema["paths"].items() for method in item if method != "parameters"
    ]
    assert ("POST", "/v1/chat/completions") in found and ("PATCH", "/admin/keys/{name}") in found
    return found


def helix_own_5xx(response: httpx.Response) -> bool:
    if response.status_code < 500:
        return False
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return True
    return not (isinstance(error, dict) and error.get("provider"))


def test_no_helix_5xx_whatever_is_sent(fuzzed: Helix) -> None:
    ops = operations(fuzzed)
    virtual = add_key(fuzzed, "fuzzer", budget=100.0, rpm=1_000_000)
    seen: dict[int, int] = {}
    # Half the examples go to the proxy's own endpoints, where hostile input does the most harm.
    proxy = [op for op in ops if op[1].startswith("/v1/") and op[0] == "POST"]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=SEED is None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        op=st.sampled_from(ops) | st.sampled_from(proxy),
        body=_bodies,
        headers=_helix_headers,
        name=st.text(alphabet=string.ascii_letters + string.digits + "-_.~%", min_size=1, max_size=12),
        as_admin=st.booleans(),
    )
    def check(
        client: httpx.Client, op: tuple[str, str], body: Any, headers: dict[str, str], name: str, as_admin: bool
    ) -> None:
        method, template = op
        path = _PARAM.sub(name, template)
        token = ADMIN if as_admin or template.startswith("/admin") else virtual
        response = client.request(
            method,
            path,
            # json.dumps writes NaN and Infinity as bare tokens: invalid JSON that Helix must refuse, not choke on.
            content=json.dumps(body).encode() if method in ("POST", "PATCH", "PUT") else None,
            headers={"authorization": f"Bearer {token}", "content-type": "application/json", **headers},
        )
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert not helix_own_5xx(response), (method, path, body, headers, response.status_code, response.text[:500])

    if SEED is not None:
        check = seed(int(SEED))(check)
    with httpx.Client(base_url=fuzzed.url, timeout=30) as client:
        check(client)
    assert sum(seen.values()) == EXAMPLES
    assert any(200 <= status < 300 for status in seen) and any(400 <= status < 500 for status in seen), seen

"""Fixtures shared by the client suites."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Helix, start_helix
from tests.fake_upstream import FakeState, ServerThread

EMAIL = "jane.doe@example.com"


@pytest.fixture
def pseudonymizing(tmp_path: Path, upstream: tuple[ServerThread, FakeState]) -> Iterator[Helix]:
    """Helix whose PII firewall replaces values with placeholders and restores them in the answer."""
    instance = start_helix(tmp_path, upstream[0].url, '[pii]\ndefault_action = "pseudonymize"\n')
    yield instance
    instance.server.stop()

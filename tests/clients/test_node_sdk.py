"""The Node `openai` package against Helix: chat (plain and streamed), the Responses API (passed through and
translated) and models.retrieve. Skipped unless Node is installed and `npm install --prefix tests/clients/node`
has fetched the package."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Helix
from tests.fake_upstream import FakeState

NODE_DIR = Path(__file__).with_name("node")


@pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_DIR / "node_modules" / "openai").is_dir(),
    reason="needs node and `npm install --prefix tests/clients/node`",
)
def test_node_openai_package(helix: Helix, fake: FakeState) -> None:
    run = subprocess.run(
        ["node", str(NODE_DIR / "check.mjs"), f"{helix.url}/v1"], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert got == {
        "chat": "echo: hello node",
        "requestId": "req_fake_openai",
        "stream": "echo: node stream",
        "responses": "echo: node responses",
        "translated": "echo: node claude",
        "model": "openai/gpt-4o",
    }

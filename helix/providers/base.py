"""What every provider adapter offers the pipeline."""

from __future__ import annotations

from typing import Any, Protocol

from helix.pipeline.call import Call, Reply


class Provider(Protocol):
    name: str
    kind: str
    local: bool

    async def chat(self, call: Call) -> Reply:
        """Answer a chat.completions call in OpenAI's shape (a stream when `call.stream`)."""
        ...

    async def embeddings(self, call: Call) -> Reply: ...

    async def list_models(self) -> list[dict[str, Any]]:
        """The upstream's models in OpenAI's `/v1/models` item shape, names without our prefix."""
        ...

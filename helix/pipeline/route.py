"""Hand a call to the provider of its target, by endpoint: what the router (helix/pipeline/router.py, the
last stage) does with each deployment it tries."""

from __future__ import annotations

from helix.call import Call, Next, Reply
from helix.pipeline.endpoints import send_endpoint


async def send_to_provider(call: Call, next: Next | None = None) -> Reply:
    provider = call.target.provider
    if call.endpoint == "embeddings":
        return await provider.embeddings(call)
    if call.endpoint != "chat":
        return await send_endpoint(call)
    return await provider.chat(call)

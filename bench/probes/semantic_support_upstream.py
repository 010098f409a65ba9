import itertools
import json
import sys
import time

from aiohttp import web

ctr = itertools.count(1)


async def chat(req):
    body = await req.json()
    last = ""
    for m in body.get("messages", []):
        if m.get("role") == "user":
            c = m.get("content")
            last = c if isinstance(c, str) else json.dumps(c)
    n = next(ctr)
    content = f"ANSWER#{n} written for the question: {last}"
    return web.json_response(
        {
            "id": f"chatcmpl-fake{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "gpt-4o-mini"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 20, "total_tokens": 40},
        }
    )


async def models(req):
    return web.json_response({"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]})


app = web.Application()
app.router.add_post("/v1/chat/completions", chat)
app.router.add_get("/v1/models", models)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)

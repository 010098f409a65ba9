"""What a request will cost before it is sent: prompt tokens from its text, output from max_tokens.

Deliberately on the high side (3 bytes per token where English averages 4 characters), so reservations
cover the real cost and concurrent requests cannot overshoot a budget. Images count a fixed amount.
"""

from __future__ import annotations

from typing import Any

import msgspec

from helix.call import Call, Usage
from helix.pricing import Price

BYTES_PER_TOKEN = 3
PER_MESSAGE = 4
PER_REPLY = 3
PER_IMAGE = 1000
# What no provider charges for: counting a prompt's tokens (Anthropic's endpoint is free, and Helix counts them itself
# for other providers). It costs nothing, takes no tokens of a rate limit and is never refused for a budget.
FREE_ENDPOINTS = frozenset({"count_tokens"})
_encode = msgspec.json.encode
# Fields that set how the answer is made, not what the model reads: no input tokens. Any other field counts as input.
_NOT_INPUT = frozenset(
    {
        *("model", "stream", "stream_options", "n", "best_of", "echo", "suffix", "temperature", "top_p", "top_k"),
        *("max_tokens", "max_completion_tokens", "max_output_tokens", "seed", "user", "store", "service_tier"),
        *("presence_penalty", "frequency_penalty", "logprobs", "top_logprobs", "logit_bias", "parallel_tool_calls"),
        *("reasoning_effort", "metadata", "stop", "stop_sequences", "truncation", "background", "include"),
        *("previous_response_id", "modalities", "thinking", "tool_choice", "anthropic_version"),
    }
)
# A chat body's messages are counted part by part (an image at its tokens, not its base64's bytes), and of a message
# besides its content the fields a provider reads as input:
_NOT_CHAT_INPUT = _NOT_INPUT | {"messages"}
_NOT_RESPONSES_INPUT = _NOT_INPUT | {"input"}  # a Responses body's items are counted part by part too
_IMAGES = frozenset({"image_url", "input_image", "image", "computer_screenshot"})  # each at PER_IMAGE tokens
_MESSAGE_FIELDS = ("tool_calls", "function_call", "name")


def _size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode())


def _tokens(size: int) -> int:
    return -(-size // BYTES_PER_TOKEN)


def _content_size(content: Any) -> int:
    if isinstance(content, str):
        return _size(content)
    if not isinstance(content, list):
        return 0
    size = 0
    for part in content:
        if not isinstance(part, dict):
            continue
        text = part.get("text")
        if isinstance(text, str):
            size += _size(text)
        elif part.get("type") in _IMAGES:
            size += PER_IMAGE * BYTES_PER_TOKEN
        else:  # tool blocks, documents, files, audio: their bytes (on the high side for base64, as a budget must err)
            size += len(_encode(part))
    return size


def prompt_tokens(call: Call) -> int:
    """The request's input tokens: what the provider reads besides the model's name (messages, tools, a response
    format's schema...), every field counted, as a budget must err on the high side."""
    body = call.body
    if call.endpoint == "responses":
        # Its items as a chat's messages (an input_image at its tokens: by its base64 a 470 KB image was 214k tokens,
        # and a key's TPM refused it for good), instructions, tools, a format's schema: every other string counts.
        return _tokens(_items_size(body.get("input")) + _input_size(body, _NOT_RESPONSES_INPUT)) + PER_REPLY
    if call.endpoint == "completions":
        # A prompt (or prompts), a suffix: every string counts (on the high side).
        return _tokens(_input_size(body, _NOT_INPUT)) + PER_REPLY
    if call.endpoint == "embeddings":
        data = body.get("input")
        if isinstance(data, str):
            return _tokens(_size(data))
        if isinstance(data, list):
            total = 0
            for item in data:
                if isinstance(item, str):
                    total += _tokens(_size(item))
                elif isinstance(item, list):
                    total += len(item)
                else:
                    total += 1
            return total
        return 0
    size = 0
    messages = body.get("messages") or ()
    for message in messages:
        size += _content_size(message.get("content"))
        for key in _MESSAGE_FIELDS:
            if message.get(key):
                size += len(_encode(message[key]))
    # Tools, legacy functions, a response format's schema, Anthropic's system prompt...: the rest of the body as sent.
    return _tokens(size + _input_size(body, _NOT_CHAT_INPUT)) + PER_MESSAGE * len(messages) + PER_REPLY


def _items_size(items: Any) -> int:
    """The bytes of a Responses body's input: a text, or items read part by part."""
    if items is None:
        return 0
    return _item_size(items) if isinstance(items, str | list) else len(_encode(items))


def _item_size(value: Any) -> int:
    """An item's bytes, every image in it at an image's tokens however deep (a computer call's screenshot, an image a
    function's output holds), the rest as sent."""
    if isinstance(value, str):
        return _size(value)
    if isinstance(value, list):
        return sum(_item_size(part) for part in value)
    if isinstance(value, dict):
        if value.get("type") in _IMAGES:
            return PER_IMAGE * BYTES_PER_TOKEN
        return sum(len(key) + _item_size(part) for key, part in value.items())
    return len(_encode(value))


def _input_size(body: dict[str, Any], not_input: frozenset[str]) -> int:
    """The bytes of a body's fields that are input: any field not known to be a setting counts (deny by default)."""
    rest = {k: v for k, v in body.items() if k not in not_input}
    return len(_encode(rest)) if rest else 0


def max_output_tokens(call: Call) -> int:
    """The output the client allowed for (max_tokens times the answers generated), or 0 when it set no limit."""
    if call.endpoint in ("embeddings", "count_tokens"):
        return 0
    body = call.body
    limit = body.get("max_completion_tokens") or body.get("max_tokens") or body.get("max_output_tokens")
    if not isinstance(limit, int) or limit <= 0:
        return 0
    return limit * choices(call)


def choices(call: Call) -> int:
    """The answers the provider generates, and bills: `n`; for legacy completions `best_of` of them (the best `n`
    returned) for each prompt of a list of prompts."""
    body = call.body
    n = body.get("n")
    count = n if isinstance(n, int) and n > 0 else 1
    if call.endpoint == "completions":
        best_of = body.get("best_of")
        if isinstance(best_of, int) and best_of > count:
            count = best_of
        prompt = body.get("prompt")
        if isinstance(prompt, list) and prompt and not isinstance(prompt[0], int):  # not one prompt's token ids
            count *= len(prompt)
    return count


def costs(
    call: Call, prompt: int, explicit_output: int, price: Price, output_tokens_estimate: int
) -> tuple[float, float]:
    """(the prompt's cost, the whole request's) at `price`: `prompt` tokens, and `explicit_output` tokens of answer, or
    `output_tokens_estimate` for each choice when the request set no limit (0)."""
    if call.endpoint in FREE_ENDPOINTS:
        return 0.0, 0.0
    prompt_cost = prompt * price.input / 1_000_000
    if call.endpoint == "embeddings":
        return prompt_cost, prompt_cost
    output = explicit_output or output_tokens_estimate * choices(call)
    return prompt_cost, prompt_cost + output * price.output / 1_000_000


def believable(call: Call, usage: Usage) -> bool:
    """Whether a provider's usage can be the call's: no more output than the client allowed for (`max_tokens` times
    the answers; a provider stops there), besides the reasoning it reports (DeepSeek's reasoner thinks beyond
    `max_tokens`). 100,000 output tokens for `max_tokens: 5` is garbage, billed at the estimate like no usage at all,
    not in full (and not a token rate limit's debt for days)."""
    allowed = max_output_tokens(call)
    return not allowed or usage.completion_tokens - usage.reasoning_tokens <= allowed


def unmetered(call: Call) -> bool:
    """An answer the provider gave, or was giving when the client left, without saying what it used: a stream cut before
    its usage, an answer with none, a client gone while a provider worked on it. The provider bills it all the same."""
    hit = call.cache is not None and call.cache.startswith("HIT")
    gone_while_asked = call.status == 499 and call.asking
    return call.usage is None and not hit and (call.ttft is not None or call.status == 200 or gone_while_asked)

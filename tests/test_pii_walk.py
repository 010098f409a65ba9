"""The walk over request bodies, canonical views and seams: no provider-visible string is skipped."""

from __future__ import annotations

import base64
import copy
import itertools
import json
import typing
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
import typing_extensions
from anthropic.types import Message, RawMessageStreamEvent
from openai.types import Completion, CreateEmbeddingResponse, embedding_create_params
from openai.types.chat import ChatCompletion, ChatCompletionChunk, completion_create_params

from helix.pii.analyzer import PiiEngine
from helix.pii.api_words import API_WORDS
from helix.pii.canonical import canonical
from helix.pii.config import PiiConfig
from helix.pii.redact import Redactor, redact_body
from helix.pii.walk import UnverifiableInput, walk


def fullwidth(text: str) -> str:
    """`text` in fullwidth forms (U+FF01..U+FF5E), as some keyboards and copy-pastes produce."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# --- sample bodies built from the openai SDK's own request types ---------------------------------


class Planter:
    """Builds a value of a type hint where every free string (and dict key) is a unique planted email."""

    def __init__(self, variant: int) -> None:
        self.variant = variant
        self.counter = itertools.count()
        self.planted: list[str] = []

    def value(self) -> str:
        planted = f"planted{next(self.counter)}@leak.io"
        self.planted.append(planted)
        return planted

    def build(self, hint: Any, depth: int = 0) -> Any:
        origin, args = typing_extensions.get_origin(hint), typing_extensions.get_args(hint)
        if depth > 12:
            return None
        if origin in (typing_extensions.Required, typing_extensions.NotRequired, typing_extensions.Annotated):
            return self.build(args[0], depth)
        if origin in (typing.Literal, typing_extensions.Literal):
            return args[self.variant % len(args)]
        if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
            options = [a for a in args if a is not type(None)]
            return self.build(options[self.variant % len(options)], depth + 1)
        if origin in (list, typing.Iterable, typing.Sequence) or str(origin) in (
            "<class 'collections.abc.Iterable'>",
            "<class 'collections.abc.Sequence'>",
        ):
            return [self.build(args[0], depth + 1)]
        if origin in (dict, typing.Dict) or str(origin) == "<class 'collections.abc.Mapping'>":  # noqa: UP006
            key = self.value() if args and args[0] is str else "0"
            return {key: self.build(args[1], depth + 1)}
        if typing_extensions.is_typeddict(hint):
            hints = typing_extensions.get_type_hints(hint, include_extras=True)
            return {name: self.build(t, depth + 1) for name, t in hints.items()}
        if hint is str:
            return self.value()
        if hint is bool:
            return False
        if hint in (int, float):
            return 1
        return self.value()  # object / Any: a free-form value


def sample_bodies(params: Any) -> Iterator[tuple[dict[str, Any], list[str]]]:
    for variant in range(6):
        planter = Planter(variant)
        body = planter.build(params)
        body["model"] = "gpt-4o-mini"  # resolved to a provider before any stage runs: not walked
        text = json.dumps(body)
        yield body, [p for p in planter.planted if p in text]


def test_every_string_field_of_the_chat_request_schema_is_walked() -> None:
    # A field added to the SDK's request type (and so to what clients send) is walked without a code change.
    for body, planted in sample_bodies(completion_create_params.CompletionCreateParamsNonStreaming):
        seen = {f.text for f in walk(body)}
        missed = [p for p in planted if p not in seen]
        assert missed == [], json.dumps(body)[:2000]
        assert len(planted) > 20


def test_every_string_field_of_the_schema_is_redacted(engine: PiiEngine) -> None:
    redactor = Redactor(engine)
    chat, embeddings = (
        completion_create_params.CompletionCreateParamsNonStreaming,
        embedding_create_params.EmbeddingCreateParams,
    )
    for params in (chat, embeddings):
        for body, planted in sample_bodies(params):
            if any(isinstance(v, int) for v in json.dumps(body.get("input", ""))):
                continue
            try:
                redact_body(body, redactor)
            except UnverifiableInput:
                continue
            text = json.dumps(body)
            leaked = [p for p in planted if p in text]
            assert leaked == [], text[:2000]


@pytest.fixture(scope="module")
def engine() -> PiiEngine:
    return PiiEngine(PiiConfig())


# --- the walk ------------------------------------------------------------------------------------


def test_walk_covers_names_keys_tools_urls_and_unknown_fields() -> None:
    body: dict[str, Any] = {
        "model": "gpt-4o",
        "user": "u",
        "metadata": {"k": "v"},
        "messages": [
            {"role": "user", "name": "n", "content": [{"type": "text", "text": "t"}]},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x.io/a"}}]},
        ],
        "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"p": 1}}}],
        "something_new": {"deep": ["z"]},
    }
    fields = {f.path: f for f in walk(body)}
    for path in ("user", "metadata.k", "messages[0].name", "messages[0].content[0].text",
                 "messages[1].content[0].image_url.url", "tools[0].function.description", "something_new.deep[0]",
                 "metadata.k#key", "tools[0].function.parameters.p#key"):  # fmt: skip
        assert path in fields, path
    assert "model" not in fields and "model#key" not in fields
    assert fields["messages[0].content[0].text"].conversation and not fields["user"].conversation
    assert fields["messages[0].name"].ident and fields["metadata.k#key"].is_key


def test_token_ids_are_unverifiable() -> None:
    for value in ([[1, 2, 3]], [1, 2, 3], ["text", [4, 5]]):
        with pytest.raises(UnverifiableInput):
            walk({"model": "e", "input": value})
    assert [f.text for f in walk({"model": "e", "input": ["a", "b"]}) if not f.is_key] == ["a", "b"]


def test_text_payloads_are_decoded_and_binary_ones_skipped(engine: PiiEngine) -> None:
    text_url = "data:text/plain;base64," + base64.b64encode(b"write to ann@leak.io today").decode()
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4).decode()
    body: dict[str, Any] = {
        "messages": [
            {
                "role": "user",
                "name": "ann@leak.io",
                "content": [
                    {"type": "image_url", "image_url": {"url": text_url}},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64," + png}},
                    {"type": "file", "file": {"file_data": png, "filename": "bob@leak.io.png"}},
                ],
            }
        ],
        "metadata": {"ann@leak.io": "owner"},
    }
    redact_body(body, Redactor(engine))
    message = body["messages"][0]
    decoded = base64.b64decode(message["content"][0]["image_url"]["url"].split(",", 1)[1]).decode()
    assert decoded == "write to <EMAIL_ADDRESS> today"
    assert message["content"][1]["image_url"]["url"] == "data:image/png;base64," + png
    assert message["content"][2]["file"]["file_data"] == png
    assert message["name"] == "EMAIL_ADDRESS"  # providers want ^[A-Za-z0-9_-]+$
    assert "bob@leak.io" not in json.dumps(body) and list(body["metadata"]) == ["<EMAIL_ADDRESS>"]


# --- canonical views -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        fullwidth("ann@leak.io"),
        "ann\u200b@\u200dleak.io",
        "ann%40leak.io",
        base64.b64encode(b"ann@leak.io").decode(),
        base64.urlsafe_b64encode(b"mail: ann@leak.io").decode().rstrip("="),
        # an HTML character reference, decimal or hex, and a JSON escape written into the text (side-door probe)
        "ann&#64;leak&#46;io",
        "ann&#x40;leak.io",
        "ann\\u0040leak.io",
        # an ideographic full stop for a domain's dot, a NUL or an escape character inside (a helper's find)
        "ann@leak\u3002io",
        "ann\x00@leak.io",
        "ann@le\x1bak.io",
        # a combining mark on the "@" or a dot (round 18)
        "ann@\u0301leak.\u0308io",
    ],
)
def test_disguised_values_are_found_and_the_original_span_redacted(engine: PiiEngine, written: str) -> None:
    red = Redactor(engine).redact([f"contact: {written} (urgent)"])
    assert red.texts == ["contact: <EMAIL_ADDRESS> (urgent)"]


def test_a_sentences_ideographic_full_stop_and_a_terminals_colours_are_left_alone(engine: PiiEngine) -> None:
    texts = ["日本語の文です。次の文です。", "ESC \x1b[31mred\x1b[0m plain text", "tab\there"]
    assert Redactor(engine).redact(texts).texts == texts


def test_digits_of_another_script_are_read_as_digits(engine: PiiEngine) -> None:
    def written(number: str, zero: int) -> str:  # the digits of the script whose zero is `zero`
        return "".join(chr(zero + int(c)) if c.isdigit() else c for c in number)

    card, ssn = written("4111 1111 1111 1111", 0x660), written("536-22-8136", 0x966)  # Arabic-Indic, Devanagari
    red = Redactor(engine).redact([f"card {card} and ssn {ssn}, references &#55296; \\uD83D kept"])
    assert red.texts == ["card <CREDIT_CARD> and ssn <US_SSN>, references &#55296; \\uD83D kept"]


def test_dashes_of_unicode_are_read_as_hyphens(engine: PiiEngine) -> None:
    """An SSN copied from a PDF (U+2010) or typed with en dashes: NFKC leaves dashes as they are (probe set K)."""
    red = Redactor(engine).redact(["SSN: 536\u201022\u20108174, SSN 601\u201338\u20132245, 1985\u20131990"])
    assert red.texts == ["SSN: <US_SSN>, SSN <US_SSN>, 1985\u20131990"]


def test_a_value_against_chinese_japanese_or_korean_text_is_found(engine: PiiEngine) -> None:
    """No space between a word of these scripts and a number or an address: no boundary for the patterns (set L)."""
    red = Redactor(engine).redact(["卡号是6292828468817133\uff0c邮箱minji.kang@kakao.com입니다"])
    assert red.texts == ["卡号是<CREDIT_CARD>\uff0c邮箱<EMAIL_ADDRESS>입니다"]


def test_a_number_in_groups_or_in_fullwidth_digits_against_chinese_or_japanese_text_is_found(engine: PiiEngine) -> None:
    """Only a run of nine ASCII digits right after such a letter had a boundary: a card in groups, in fullwidth
    digits or before the letter leaked (set AA). Short numbers and dates stay joined to their words."""
    red = Redactor(engine).redact(
        [
            "カード番号は3530 6060 5865 1677、有効期限は05/28です。セキュリティコード：８２３。",  # noqa: RUF001
            "信用卡号４４８５００４８４２４２０３０７，支付时提示错误",  # noqa: RUF001
            "信用卡号 4485004842420307支付失败",
            "注文は2024-01-31に届きました; 第3版は2023年; 部屋は302号室",
        ]
    )
    assert red.texts == [
        "カード番号は<CREDIT_CARD>、有効期限は05/28です。セキュリティコード：<PASSWORD>。",  # noqa: RUF001
        "信用卡号<CREDIT_CARD>，支付时提示错误",  # noqa: RUF001
        "信用卡号 <CREDIT_CARD>支付失败",
        "注文は2024-01-31に届きました; 第3版は2023年; 部屋は302号室",
    ]


def test_a_number_grouped_by_middle_dots_is_read_as_one(engine: PiiEngine) -> None:
    """A scanner's "+44 · 7911 · 284 · 366" (set AA): the dots are spaces to the view; a dot between words stays."""
    red = Redactor(engine).redact(["Mob: +44 · 7911 · 284 · 366 or +44·7911·284·367", "Bundle · 12 items · 29.99 EUR"])
    assert red.texts == ["Mob: <PHONE_NUMBER> or <PHONE_NUMBER>", "Bundle · 12 items · 29.99 EUR"]


def test_view_maps_back_to_original_spans() -> None:
    view = canonical("x \uff41%40b")
    assert view.text == "x a@b"
    assert view.span(2, 5) == (2, 7) and view.span(3, 4) == (3, 6)
    plain = canonical("just ascii")
    assert plain.starts is None and plain.span(1, 3) == (1, 3)


def test_cards_with_dots_and_jwts_by_structure(engine: PiiEngine) -> None:
    header = base64.urlsafe_b64encode(b'{ "alg": "HS256" }').decode().rstrip("=")
    payload = base64.urlsafe_b64encode(b"[1,2,3,4,5,6,7]").decode().rstrip("=")
    jwt = f"{header}.{payload}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    red = Redactor(engine).redact([f"card 4111.1111.1111.1111, token {jwt}, module a.b.c, v1.2.3.4"])
    assert red.texts == ["card <CREDIT_CARD>, token <JWT>, module a.b.c, v1.2.3.4"]


# --- seams ---------------------------------------------------------------------------------------


def test_a_secret_split_across_messages_is_caught(engine: PiiEngine) -> None:
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0"
    body: dict[str, Any] = {
        "messages": [
            {"role": "user", "content": f"my key starts {key[:14]}"},
            {"role": "user", "content": [{"type": "text", "text": f"{key[14:]} and that is all"}]},
        ]
    }
    red = redact_body(body, Redactor(engine))
    assert key[14:] not in json.dumps(body) and key[:14] not in json.dumps(body)
    assert body["messages"][1]["content"][0]["text"].endswith(" and that is all")
    assert red.findings["API_KEY"].count == 2


def test_a_password_ending_one_message_leaves_the_next_ones_first_word_alone(engine: PiiEngine) -> None:
    """The seam reads `hunter2x9What`: the word is the next message's, and no key goes on in a plain word."""
    redactor = Redactor(engine)
    assert redactor.redact(["password: hunter2x9", "What's the pw again?"]).texts == [
        "password: <PASSWORD>",
        "What's the pw again?",
    ]
    assert redactor.redact(["what's the staging db pw again?", "Zx!8vL2qN#r"]).texts == [
        "what's the staging db pw again?",
        "<PASSWORD>",
    ]


def test_a_value_found_once_is_redacted_wherever_it_stands_in_the_request(engine: PiiEngine) -> None:
    """A password its label gave away is the password where it stands alone in a later message; a short value (a PIN)
    is left where it is not found: elsewhere it is likelier some other number."""
    redactor = Redactor(engine)
    assert redactor.redact(["db password: Tr0ub4dor&3", "ok, noted", "I typed Tr0ub4dor&3 and it failed"]).texts == [
        "db password: <PASSWORD>",
        "ok, noted",
        "I typed <PASSWORD> and it failed",
    ]
    assert redactor.redact(["my PIN: 4471", "the server listens on port 4471"]).texts[1] == (
        "the server listens on port 4471"
    )


def test_a_responses_part_keeps_its_type_when_its_text_starts_with_a_value(engine: PiiEngine) -> None:
    """Every string under a Responses `input` was message text, joined to its neighbours: an email starting a part's
    text took the part's "input_text" with it, and OpenAI got `{"type": "<EMAIL_ADDRESS>"}` (Anthropic's route, a
    400). A secret split across two parts is still one."""
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0"
    body: dict[str, Any] = {
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "leaky.person@example.org is my address"}]},
            {"type": "function_call_output", "call_id": "call_1", "output": "mail ann.lee@example.com now"},
            {"role": "user", "content": [{"type": "input_text", "text": f"my key starts {key[:14]}"}]},
            {"role": "user", "content": [{"type": "input_text", "text": f"{key[14:]} and that is all"}]},
        ]
    }
    redact_body(body, Redactor(engine))
    part = body["input"][0]["content"][0]
    assert (body["input"][0]["role"], part["type"], part["text"]) == (
        "user",
        "input_text",
        "<EMAIL_ADDRESS> is my address",
    )
    assert (
        body["input"][1]["output"] == "mail <EMAIL_ADDRESS> now" and body["input"][1]["type"] == "function_call_output"
    )
    assert key[14:] not in json.dumps(body) and key[:14] not in json.dumps(body)


def test_a_card_split_across_parts_is_caught(engine: PiiEngine) -> None:
    red = Redactor(engine).redact(["pay with 4111 1111", "1111 1111 thanks"])
    assert "1111" not in "".join(red.texts)
    assert Redactor(engine).redact(["version 4.1", "1 released"]).texts == ["version 4.1", "1 released"]


def test_a_value_that_starts_a_message_leaves_the_last_word_before_it_alone(engine: PiiEngine) -> None:
    # The seam reads `assistant.` and `jane.doe@...` glued as one address; the second message holds it whole.
    redactor = Redactor(engine)
    cases = [
        ["You are a support agent for Acme.", "jane.doe@gmail.com here, my order is late"],
        ["Be terse", "+44 20 7946 0958 is my number"],
        ["Be terse", "jane.doe@gmail.com is my address"],
        ["Reply briefly.", "4111 1111 1111 1111 was declined"],
    ]
    for first, second in cases:
        texts = redactor.redact([first, second]).texts
        assert texts[0] == first, texts
        assert texts[1] != second and not texts[1][0].isalnum(), texts
    # A key is a secret wherever it is cut, even where one part looks whole on its own.
    key = "sk-proj-Zq8Wm2Xn4Bv6Cx1Lk3Jh5Gf7Ds9Ap0Qw"
    texts = redactor.redact([f"my key is {key[:30]}", f"{key[30:]} (the rest)"]).texts
    assert key[30:] not in texts[1] and key[:30] not in texts[0]


def test_an_address_split_inside_a_word_is_caught_in_both_halves(engine: PiiEngine) -> None:
    """The second half of an address split inside its name (`zed.qu` / `ill@protonmail.com`) is an address on its
    own, so the seam's finding was taken for glue and the first half went to the provider."""
    redactor = Redactor(engine)
    for first, second in (("Write to zed.qu", "ill@protonmail.com about the invoice"), ("mail zq03.quil", "l@x.io")):
        texts = redactor.redact([first, second]).texts
        assert first.split()[-1] not in texts[0] and "@" not in texts[1], texts
        assert texts[0].startswith(first.rsplit(" ", 1)[0]) and texts[1].startswith("<EMAIL_ADDRESS>"), texts


def _schema_keys(hint: Any, seen: set[int]) -> Iterator[str]:
    if typing_extensions.is_typeddict(hint):
        if id(hint) in seen:
            return
        seen.add(id(hint))
        for key, value in typing_extensions.get_type_hints(hint, include_extras=True).items():
            yield key
            yield from _schema_keys(value, seen)
    for arg in typing.get_args(hint):
        yield from _schema_keys(arg, seen)


def test_the_chat_and_embeddings_request_keys_are_api_words() -> None:
    # So a plain chat body brings no key of its own to analyse; `n` is left out: one letter is a name's initial.
    chat, embeddings = completion_create_params, embedding_create_params
    params = (chat.CompletionCreateParamsNonStreaming, embeddings.EmbeddingCreateParams)
    keys = {key for hint in params for key in _schema_keys(hint, set())}
    assert len(keys) > 60
    assert sorted(keys - API_WORDS) == ["n"]


def _answer_keys(hint: Any, seen: set[type]) -> Iterator[str]:
    if isinstance(hint, type) and issubclass(hint, pydantic.BaseModel):
        if hint in seen:
            return
        seen.add(hint)
        for name, info in hint.model_fields.items():
            yield info.alias or name
            yield from _answer_keys(info.annotation, seen)
    for arg in typing.get_args(hint):
        yield from _answer_keys(arg, seen)


def test_the_answer_keys_of_both_sdks_are_api_words() -> None:
    # An answer checked before the cache keeps it brings its text and the provider's ids, not its schema. `token`
    # and `tokens` are left out: the secret recognizers' hint words, so a value under them keeps its key as context.
    answers = (ChatCompletion, ChatCompletionChunk, Completion, CreateEmbeddingResponse, Message, RawMessageStreamEvent)
    keys = {key for answer in answers for key in _answer_keys(answer, set())}
    assert len(keys) > 100
    assert sorted(keys - API_WORDS) == ["token", "tokens"]


def test_an_answer_brings_its_text_and_ids_to_analyse_not_its_schema() -> None:
    answer = {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1733380000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Joyful.", "refusal": None,
                     "annotations": []}, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 19, "completion_tokens": 3, "total_tokens": 22,
                  "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
        "service_tier": "default",
        "system_fingerprint": "fp_0ba0d124f1",
    }  # fmt: skip
    message = {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Joyful."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 19, "output_tokens": 3, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 0, "service_tier": "standard"},
    }  # fmt: skip
    assert [f.text for f in walk(answer, answer=True)] == [answer["id"], "Joyful.", "fp_0ba0d124f1"]
    assert [f.text for f in walk(message, answer=True)] == [message["id"], "Joyful."]


def test_api_words_are_passed_by_only_as_whole_strings_outside_message_text(engine: PiiEngine) -> None:
    body: dict[str, Any] = {
        "model": "gpt-4o",
        "tool_choice": "auto",
        "metadata": {"mode": "user 4111 1111 1111 1111", "auto": "text"},
        "messages": [
            {"role": "system", "content": "user"},
            {"role": "user", "content": [{"type": "text", "text": "object"}]},
        ],
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object",
                   "properties": {"order_ref": {"type": "string"}}, "required": ["order_ref"]}}}],
    }  # fmt: skip
    fields = {f.path: f.text for f in walk(body)}
    assert fields == {
        "metadata.mode": "user 4111 1111 1111 1111",
        "messages[0].content": "user",
        "messages[1].content[0].text": "object",
        "tools[0].function.name": "lookup",
        "tools[0].function.parameters.properties.order_ref#key": "order_ref",
        "tools[0].function.parameters.required[0]": "order_ref",
    }
    assert [word for word in sorted(API_WORDS) if engine.analyze(word)] == []


def test_a_value_is_read_after_the_key_it_is_under(engine: PiiEngine) -> None:
    """`{"db_password": "..."}` outside message text: the key is the value's context, as in prose (a list's key for its
    items, a pair's name for its value); it is not redacted itself, and the API's own keys (`name`, `description`)
    give their values none."""
    body: dict[str, Any] = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "hi"}],
        "metadata": {"db_password": "Xq7mPz2rLw9aBc4D", "apiKey": "Zt4nQw8eRk2pLm6v", "order_id": "48213",
                     "password_policy": "min 12 chars", "token_count": "1532"},
        "vault": {"api_keys": ["Kd3sVb7nMq1xWe5r"], "order_ids": ["48213"],
                  "env": [{"name": "DB_PASSWORD", "value": "Pw9kLm2nBv4cXz7q"}, {"name": "TEAM", "value": "core"}]},
        "tools": [{"type": "function", "function": {"name": "Xq7mPz2rLw9aBc4D", "description": "checks an order"}}],
    }  # fmt: skip
    fields = {f.path: f for f in walk(body)}
    assert fields["metadata.db_password"].context == "db_password"
    assert fields["metadata.db_password#key"].context == ""
    assert fields["vault.api_keys[0]"].context == "api_key"  # an item of a list is read in the singular
    assert fields["vault.env[0].value"].context == "DB_PASSWORD"  # a name/value pair's name
    assert fields["tools[0].function.name"].context == ""
    redact_body(body, Redactor(engine, hash_key="k" * 24))
    assert body["metadata"] == {
        "db_password": "<PASSWORD>",
        "apiKey": "<SECRET>",
        "order_id": "48213",
        "password_policy": "min 12 chars",
        "token_count": "1532",
    }
    assert body["vault"] == {
        "api_keys": ["<SECRET>"],
        "order_ids": ["48213"],
        "env": [{"name": "DB_PASSWORD", "value": "<PASSWORD>"}, {"name": "TEAM", "value": "core"}],
    }
    assert body["tools"][0]["function"]["name"] == "Xq7mPz2rLw9aBc4D"


def test_an_anthropic_tool_uses_input_is_read_by_its_keys(engine: PiiEngine) -> None:
    # Anthropic sends a tool call's input as an object, not as JSON text: its keys are the values' context.
    call = {"type": "tool_use", "id": "toolu_1", "name": "login",
            "input": {"username": "jdoe", "password": "S3cr3tPa55", "api_token": "Xq7mPz2rLw9aBc4D"}}  # fmt: skip
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "log me in"}, {"role": "assistant", "content": [call]}],
    }
    redact_body(body, Redactor(engine, hash_key="k" * 24))
    # the login too since set S (an account name by its label)
    assert call["input"] == {"username": "<USERNAME>", "password": "<PASSWORD>", "api_token": "<SECRET>"}


def test_a_turn_analyses_only_its_new_message_and_seam(engine: PiiEngine) -> None:
    """A history resent on every turn is found in the engine's results: each seam is its own document."""
    history: list[dict[str, Any]] = [{"role": "system", "content": "You answer questions about orders."}]
    for turn in range(6):
        history.append({"role": "user" if turn % 2 == 0 else "assistant", "content": f"Message {turn} of the chat."})
    redactor = Redactor(engine)

    def texts(messages: list[dict[str, Any]]) -> set[str]:
        return set(redactor.plan(walk({"model": "m", "messages": messages})).texts)

    before = texts(history)
    after = texts([*history, {"role": "user", "content": "And where is order 7?"}])
    assert after - before == {"And where is order 7?", "Message 5 of the chat.And where is order 7?"}


def test_a_clean_history_is_seen_again_only_at_its_seams_and_one_with_findings_whole(engine: PiiEngine) -> None:
    key = "sk-proj-" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2H1g0"
    history: list[dict[str, Any]] = [
        {"role": "system", "content": "You help customers with their orders."},
        {"role": "user", "content": "Order 7 never came; write to me at lena.berg@example.org please."},
        {"role": "assistant", "content": "Sorry to hear that. Which address was it sent to?"},
        {"role": "user", "content": f"The one on file. My API key for the shop starts {key[:16]}"},
        {"role": "assistant", "content": f"{key[16:]} is the rest of it, you said? Please never share keys."},
    ]
    redactor = Redactor(engine)

    def turn(question: str) -> tuple[set[str], str]:
        body: dict[str, Any] = {
            "model": "m",
            "messages": [*copy.deepcopy(history), {"role": "user", "content": question}],
        }
        fields = walk(body)
        texts = set(redactor.plan(fields).texts)
        redact_body(body, redactor)
        return texts, json.dumps(body)

    turn("Can you check again?")
    texts, sent = turn("Any news about order 7?")
    # The clean messages are not analysed alone again; the one with an address is, and so is every seam.
    assert "You help customers with their orders." not in texts
    assert "Sorry to hear that. Which address was it sent to?" not in texts
    assert "Order 7 never came; write to me at lena.berg@example.org please." in texts
    assert "Any news about order 7?" in texts
    for leaked in ("lena.berg@example.org", key[:16], key[16:]):
        assert leaked not in sent
    fresh = PiiEngine(PiiConfig(), cache_size=0)
    body: dict[str, Any] = {
        "model": "m",
        "messages": [*history, {"role": "user", "content": "Any news about order 7?"}],
    }
    redact_body(body, Redactor(fresh))
    assert json.dumps(body) == sent


def test_anthropic_tool_ids_stay_identifiers() -> None:
    """Anthropic pairs a tool_result with its tool_use by id: both must stay identifier-shaped."""
    block = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "c"}
    fields = {f.path: f for f in walk({"messages": [{"role": "user", "content": [block]}]})}
    assert fields["messages[0].content[0].tool_use_id"].ident


def test_a_providers_own_numeric_setting_at_the_top_level_is_left_alone(engine: PiiEngine) -> None:
    """Top-level numbers outside the API's settings are read as values now (faults round 23); a provider's own setting
    is not one: Mistral's random_seed written as '<CREDIT_CARD>' made it refuse the request (a reviewer's find)."""
    body = {"model": "mistral-small", "random_seed": 4539148803436467, "customer_card": 4539148803436467}
    body["messages"] = [{"role": "user", "content": "hi"}]
    redact_body(body, Redactor(engine, b"k" * 32))
    assert body["random_seed"] == 4539148803436467 and body["customer_card"] == "<CREDIT_CARD>"

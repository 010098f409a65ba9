"""Frameworks built on the openai SDK, pointed at Helix with only the base URL changed: langchain-openai,
llama-index's OpenAILike (chat and completion modes), simonw's llm (chat and completion models) and
instructor. Each is skipped when not installed (`pip install -e '.[clients]'`): they pin the openai SDK
below the version the rest of the tests use."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Helix
from tests.fake_upstream import FakeState

CLAUDE = "anthropic/claude-3-5-haiku-latest"


def test_langchain_openai(helix: Helix, fake: FakeState) -> None:
    langchain_openai = pytest.importorskip("langchain_openai")
    chat = langchain_openai.ChatOpenAI(model="gpt-4o-mini", base_url=f"{helix.url}/v1", api_key="x", max_retries=0)
    assert chat.invoke("hello langchain").content == "echo: hello langchain"
    assert "".join(str(part.content) for part in chat.stream("streamed langchain")) == "echo: streamed langchain"
    responses = langchain_openai.ChatOpenAI(
        model="gpt-4o-mini", base_url=f"{helix.url}/v1", api_key="x", max_retries=0, use_responses_api=True
    )
    assert responses.invoke("via responses").text == "echo: via responses"
    assert fake.calls("/v1/responses")
    tools = langchain_openai.ChatOpenAI(model=CLAUDE, base_url=f"{helix.url}/v1", api_key="x", max_retries=0)

    def get_weather(city: str) -> str:
        """Weather in a city."""
        return "sunny"

    called = tools.bind_tools([get_weather]).invoke("what is the weather?")
    assert called.tool_calls[0]["name"] == "get_weather" and called.tool_calls[0]["args"] == {"city": "Paris"}


def test_llama_index_openai_like(helix: Helix, fake: FakeState) -> None:
    openai_like = pytest.importorskip("llama_index.llms.openai_like")
    from llama_index.core.llms import ChatMessage

    chat = openai_like.OpenAILike(
        model="gpt-4o-mini", api_base=f"{helix.url}/v1", api_key="x", is_chat_model=True, max_retries=0
    )
    assert chat.chat([ChatMessage(role="user", content="hi llama")]).message.content == "echo: hi llama"
    assert chat.complete("complete as chat").text == "echo: complete as chat"
    default = openai_like.OpenAILike(model="gpt-4o-mini", api_base=f"{helix.url}/v1", api_key="x", max_retries=0)
    assert default.complete("plain completion").text == " echo: plain completion"  # /v1/completions
    assert "".join(r.delta or "" for r in default.stream_complete("streamed")) == " echo: streamed"
    assert len(fake.calls("/v1/completions")) == 2 and len(fake.calls("/v1/chat/completions")) == 2


def test_llm_chat_and_completion_models(helix: Helix, fake: FakeState) -> None:
    pytest.importorskip("llm")
    from llm.default_plugins.openai_models import Chat, Completion

    chat = Chat("helix-chat", model_name="gpt-4o-mini", api_base=f"{helix.url}/v1")
    assert chat.prompt("hi llm", key="x").text() == "echo: hi llm"
    assert "".join(chat.prompt("streamed llm", key="x", stream=True)) == "echo: streamed llm"
    completion = Completion("helix-instruct", model_name="gpt-3.5-turbo-instruct", api_base=f"{helix.url}/v1")
    assert completion.prompt("complete me", key="x").text() == " echo: complete me"
    assert fake.calls("/v1/completions")


def test_instructor_structured_output(helix: Helix, fake: FakeState) -> None:
    instructor = pytest.importorskip("instructor")
    from pydantic import BaseModel

    class Weather(BaseModel):
        city: str

    client: Any = instructor.from_openai(helix.client())
    found = client.chat.completions.create(
        model=CLAUDE, response_model=Weather, messages=[{"role": "user", "content": "what is the weather?"}]
    )
    assert isinstance(found, Weather) and found.city == "Paris"
    sent = fake.calls("/v1/messages")[0].body
    assert sent["tools"][0]["name"] == "Weather" and sent["tool_choice"] == {"type": "tool", "name": "Weather"}

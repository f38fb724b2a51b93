"""Chat requests and replies in one place: the request body, and a reply read from chat,
completion and stopped chunks."""

from __future__ import annotations

from typing import Any

from ainos.ai.ml.llm import STOPPED_FIELD, Reply, chat_body, chunk_text


def _chat(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    delta = {"content": content} if content is not None else {}
    return {"object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip


def test_a_streamed_body_asks_for_the_usage() -> None:
    messages = [{"role": "user", "content": "hi"}]
    body = chat_body("m", messages, stream=True, max_tokens=8)
    assert body == {"model": "m", "messages": messages, "max_tokens": 8, "stream": True,
                    "stream_options": {"include_usage": True}}  # fmt: skip
    assert body["messages"][0] is not messages[0]  # the caller's messages stay the caller's
    assert "stream" not in chat_body("m", messages)


def test_chat_and_completion_chunks_give_their_text() -> None:
    assert chunk_text(_chat("Hel")) == "Hel"
    assert chunk_text({"choices": [{"text": "lo"}]}) == "lo"
    assert chunk_text({"choices": [], "usage": {"completion_tokens": 2}}) == ""


def test_a_reply_keeps_text_finish_and_usage() -> None:
    reply = Reply(keep_chunks=True)
    chunks = [_chat("Hel"), _chat("lo"), _chat(finish="length"),
              {"choices": [], "usage": {"completion_tokens": 3, "prompt_tokens": 5}}]  # fmt: skip
    assert [reply.read(chunk) for chunk in chunks] == ["Hel", "lo", "", ""]
    assert reply.text == "Hello"
    assert reply.finish_reason == "length"
    assert reply.completion_tokens == 3
    assert reply.chunks == chunks
    assert Reply().completion_tokens is None


def test_a_loop_ainos_stopped_is_told_apart_from_a_plain_stop() -> None:
    reply = Reply()
    reply.read(_chat("la la la"))
    reply.read({**_chat(finish="stop"), STOPPED_FIELD: "repetition"})
    reply.read({"choices": [], "usage": {"completion_tokens": 3}})
    assert (reply.finish_reason, reply.stopped) == ("stop", "repetition")
    assert reply.chunks == []  # not kept unless asked

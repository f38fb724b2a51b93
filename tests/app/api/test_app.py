"""The OpenAI-compatible API, served for real and driven by the official ``openai`` client."""

from __future__ import annotations

import base64
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.api_server import serving_runtime

from ainos.ai.ml import EmbeddingModel, convert_packaged_model
from ainos.app.api import ApiConfig, HttpServer
from ainos.app.runtime import Runtime, RuntimeConfig
from ainos.kernel.control import ServicesConfig

MODEL = "all-minilm-l6-v2"


@pytest.fixture(scope="module")
def fp32_model(prepared_models: Path) -> EmbeddingModel:
    """The embedded model as converted in the run's prepared state directory."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AINOS_HOME", str(prepared_models))
        return EmbeddingModel.from_converted(convert_packaged_model())  # cached: no work


@pytest.fixture(scope="module")
def server(prepared_models: Path) -> Iterator[str]:
    config = RuntimeConfig(
        kernel=ServicesConfig(pool_bytes=4 * 1024 * 1024, lock_pool=False),
        api=ApiConfig(default_embedding_model=MODEL),
    )
    with serving_runtime(prepared_models, config) as http:
        yield http.url


@pytest.fixture
def client(server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0)


def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_models_are_listed(client: openai.OpenAI) -> None:
    ids = [model.id for model in client.models.list()]
    assert MODEL in ids


def test_embeddings_round_trip_in_both_encodings(
    client: openai.OpenAI, fp32_model: EmbeddingModel
) -> None:
    texts = ["the first text", "a second, longer text about schedulers"]
    expected = fp32_model.embed(texts)
    as_floats = client.embeddings.create(model=MODEL, input=texts, encoding_format="float")
    assert [item.index for item in as_floats.data] == [0, 1]
    np.testing.assert_allclose([item.embedding for item in as_floats.data], expected, atol=1e-3)
    assert as_floats.usage.prompt_tokens == sum(fp32_model.tokenizer.count_tokens(texts))
    # the client's default asks for base64 and decodes it itself
    default = client.embeddings.create(model=MODEL, input=texts[0])
    np.testing.assert_allclose(default.data[0].embedding, expected[0], atol=1e-3)


def test_base64_is_little_endian_float32(server: str, fp32_model: EmbeddingModel) -> None:
    status, body = _post(
        f"{server}/v1/embeddings",
        json.dumps({"model": MODEL, "input": "hello", "encoding_format": "base64"}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200
    vector = np.frombuffer(base64.b64decode(body["data"][0]["embedding"]), dtype="<f4")
    np.testing.assert_allclose(vector, fp32_model.embed(["hello"])[0], atol=1e-5)


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (json.dumps({"model": "nope", "input": "x"}).encode(), 404, "no model 'nope'"),
        (json.dumps({"model": MODEL, "input": []}).encode(), 400, "non-empty"),
        (json.dumps({"model": MODEL, "input": [""]}).encode(), 400, "empty strings"),
        (json.dumps({"model": MODEL, "input": [[1, 2, 3]]}).encode(), 400, "token arrays"),
        (json.dumps({"model": MODEL, "input": ["x"] * 5000}).encode(), 400, "at most 2048"),
        (
            json.dumps({"model": MODEL, "input": "x", "encoding_format": "int8"}).encode(),
            400,
            "encoding_format",
        ),
        (
            json.dumps({"model": MODEL, "input": "x", "priority": "urgent"}).encode(),
            400,
            "priority",
        ),
        (json.dumps({"model": MODEL, "input": "x", "dimensions": 12}).encode(), 400, "384"),
        (b'{"model": "%s", "input": ["\\ud800"]}' % MODEL.encode(), 400, "lone surrogate"),
        (
            json.dumps({"model": MODEL, "input": "x", "deadline_ms": True}).encode(),
            400,
            "deadline_ms must be a number",
        ),
        (b'{"input": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "nested deeper"),
        (
            b'{"model": "%s", "input": "x", "dimensions": %s}' % (MODEL.encode(), b"9" * 5000),
            400,
            "digits",
        ),
        (
            json.dumps({"model": MODEL, "input": ["word " * 400] * 2048}).encode(),
            400,
            "at most 300000 per request",
        ),
    ],
)
# A program's request takes the embeddings' shortcut, a page's (with an Origin) the router.
@pytest.mark.parametrize("origin", [None, "http://localhost:5173"], ids=["program", "page"])
def test_bad_requests_get_openai_error_objects(
    server: str, body: bytes, status: int, fragment: str, origin: str | None
) -> None:
    headers = {"Content-Type": "application/json"} | ({"Origin": origin} if origin else {})
    got, document = _post(f"{server}/v1/embeddings", body, headers)
    assert got == status
    error = document["error"]
    assert fragment in error["message"]
    assert set(error) == {"message", "type", "param", "code"}


def test_an_oversized_body_is_refused_before_it_is_read(server: str) -> None:
    host, port = server.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.putrequest("POST", "/v1/embeddings")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(17 * 1024 * 1024))
        connection.endheaders()  # the body never comes: the answer must not wait for it
        response = connection.getresponse()
        assert response.status == 413
        assert "body over" in json.loads(response.read())["error"]["message"]
    finally:
        connection.close()


def test_the_openai_client_raises_its_own_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="nope", input="x")
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model=MODEL, input=[])


def test_priority_header_and_queue_view(server: str) -> None:
    status, _ = _post(
        f"{server}/v1/embeddings",
        json.dumps({"model": MODEL, "input": "urgent"}).encode(),
        {"Content-Type": "application/json", "X-Ainos-Priority": "realtime"},
    )
    assert status == 200
    with urllib.request.urlopen(f"{server}/ainos/queue", timeout=30) as response:
        queue = json.loads(response.read())
    model = queue["models"][MODEL]
    assert model["max_concurrent"] >= 1
    assert model["in_flight"] == 0
    assert queue["scheduler"]["classes"]["realtime"]["queue_depth"] == 0


def test_metrics_endpoint(server: str, client: openai.OpenAI) -> None:
    client.embeddings.create(model=MODEL, input="counted")
    with urllib.request.urlopen(f"{server}/metrics", timeout=30) as response:
        text = response.read().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    requests = families["ainos_model_requests"].samples
    assert any(s.labels == {"model": MODEL, "outcome": "ok"} and s.value >= 1 for s in requests)
    assert "ainos_model_batch_size" in families
    assert "ainos_scheduler_scheduled_tasks" in families


def test_a_token_is_required_when_set(
    prepared_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AINOS_HOME", str(prepared_models))
    config = RuntimeConfig(
        kernel=ServicesConfig(pool_bytes=4 * 1024 * 1024, lock_pool=False),
        api=ApiConfig(token="s3cret", default_embedding_model=MODEL),
    )
    with Runtime(config) as runtime:
        http = HttpServer(runtime.http_app(), "127.0.0.1", 0).start()
        try:
            anonymous = openai.OpenAI(base_url=f"{http.url}/v1", api_key="wrong", max_retries=0)
            with pytest.raises(openai.AuthenticationError):
                anonymous.models.list()
            allowed = openai.OpenAI(base_url=f"{http.url}/v1", api_key="s3cret", max_retries=0)
            assert MODEL in [m.id for m in allowed.models.list()]
        finally:
            http.stop()

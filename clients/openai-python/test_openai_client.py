"""The official OpenAI Python client against the gateway of a running mesh (GATEWAY_URL, MODEL_NAME)."""
import base64
import os
import pathlib

import openai
import pytest

GATEWAY = os.environ.get("GATEWAY_URL", "http://127.0.0.1:8080")
MODEL = os.environ["MODEL_NAME"]
IMAGE = pathlib.Path(__file__).resolve().parents[2] / "testdata/golden/images/gen_gray_210x400.png"


@pytest.fixture(scope="module")
def client():
    return openai.OpenAI(api_key="unused", base_url=GATEWAY + "/v1", max_retries=0, timeout=120)


def image_part():
    data = base64.b64encode(IMAGE.read_bytes()).decode("ascii")
    return {"type": "image_url", "image_url": {"url": "data:image/png;base64," + data}}


def test_models_lists_the_served_model(client):
    assert [m.id for m in client.models.list()] == [MODEL]


def test_text_completion(client):
    r = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hello!"}],
                                       max_tokens=8, temperature=0, seed=1)
    choice = r.choices[0]
    assert choice.message.role == "assistant"
    assert choice.finish_reason in ("stop", "length")
    assert r.usage.completion_tokens <= 8
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_image_completion_streamed_with_usage_equals_unstreamed(client):
    messages = [{"role": "user", "content": [image_part(), {"type": "text", "text": "Describe the image."}]}]
    whole = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=12, temperature=0)
    chunks = list(client.chat.completions.create(model=MODEL, messages=messages, max_tokens=12, temperature=0,
                                                 stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[-1].usage.prompt_tokens == whole.usage.prompt_tokens
    assert whole.usage.prompt_tokens > 3 * 256, "three tiles of 256 image tokens"


def test_extensions_and_logprobs(client):
    r = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Count to three."}],
                                       max_tokens=4, temperature=0.7, top_p=0.9, seed=7, logprobs=True, top_logprobs=2,
                                       extra_body={"top_k": 20, "repetition_penalty": 1.1})
    tokens = r.choices[0].logprobs.content
    assert 1 <= len(tokens) <= 4
    assert all(len(t.top_logprobs) == 2 and t.logprob <= 0 for t in tokens)


def test_errors_are_raised_as_the_client_expects(client):
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "Hi"}])
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi " * 40000}], max_tokens=8)
    assert e.value.code == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}], temperature=5)

"""The API on the real bundled models, through the official openai client: text, image and audio parts."""

import base64
import threading

import openai
import pytest

from assistant.engine import Engine, EngineConfig
from assistant.server import make_server
from tests.test_real_weights import _installed
from tools.demo import VOICE_ANSWER, sample_image, spoken_question

pytestmark = [pytest.mark.weights,
              pytest.mark.skipif(not _installed(), reason="bundled weights not installed (run scripts/test)")]


@pytest.fixture(scope="module")
def client():
    server = make_server(Engine(EngineConfig(device="cpu")), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield openai.OpenAI(base_url=f"http://127.0.0.1:{server.server_address[1]}/v1", api_key="none", max_retries=0,
                        timeout=120)
    server.shutdown()
    server.server_close()


def _b64(path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def test_text_image_and_audio_through_the_openai_client(client, tmp_path):
    model = client.models.list().data[0].id
    r = client.chat.completions.create(model=model, temperature=0, max_tokens=24,
                                       messages=[{"role": "user", "content": "What is the capital of France?"}])
    assert "Paris" in r.choices[0].message.content and r.usage.completion_tokens > 0
    png = sample_image(tmp_path / "c.png")
    stream = client.chat.completions.create(model=model, temperature=0, max_tokens=16, stream=True, messages=[
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{_b64(png)}"}},
                                     {"type": "text", "text": "What shape is this?"}]}])
    assert "circle" in "".join(c.choices[0].delta.content or "" for c in stream if c.choices).lower()
    wav = spoken_question(tmp_path / "q.wav")
    r = client.chat.completions.create(model=model, temperature=0, max_tokens=24, messages=[
        {"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": _b64(wav), "format": "wav"}}]}])
    assert VOICE_ANSWER in r.choices[0].message.content


def test_remote_backend_against_our_own_server(client):
    from assistant.conversation import Done, Message
    from assistant.remote import RemoteEngine
    from models.decoders.sampling import SamplingOptions

    remote = RemoteEngine(str(client.base_url))
    remote.preload()
    done = list(remote.respond([Message.user("What is the capital of France?")],
                               SamplingOptions(temperature=0, max_new_tokens=24)))[-1]
    assert isinstance(done, Done) and "Paris" in done.answer and done.timings.tokens > 0

"""The API server under hostile input and load: framing, limits, timeouts, cross-site requests, bad parameters.

Each test reproduces a defect an outside review found on the old http.server implementation.
"""

import json
import socket
import threading

import openai
import pytest

from assistant.media import UserInputError, load_image
from tests.assistant.server_fixtures import FakeEngine, png_url, serve  # noqa: F401 - serve is a fixture

HI = {"model": "fake-llm", "messages": [{"role": "user", "content": "hi"}]}


def _request(method, path, body=b"", headers=None, host="127.0.0.1") -> bytes:
    head = {"Host": host, "Content-Length": str(len(body)), **(headers or {})}
    lines = "".join(f"{k}: {v}\r\n" for k, v in head.items() if v is not None)
    return f"{method} {path} HTTP/1.1\r\n{lines}\r\n".encode() + body


def _read_response(f) -> tuple[int, dict, bytes]:
    """One HTTP/1.1 response from a socket file: (status, lower-cased headers, body)."""
    status = int(f.readline().split()[1])
    headers = {}
    while (line := f.readline().strip()):
        name, _, value = line.decode().partition(":")
        headers[name.lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while (size := int(f.readline().strip(), 16)):
            body += f.read(size)
            f.readline()
        f.readline()
        return status, headers, body
    if "content-length" not in headers and headers.get("connection") == "close":
        return status, headers, _read_to_close(f)  # uvicorn's own 400 for a malformed request is plain text to EOF
    return status, headers, f.read(int(headers.get("content-length", 0)))


def _read_to_close(f) -> bytes:
    """What comes until the server closes: an orderly close, or a reset (a server that closes with unread bytes
    sends RST, which may arrive before all it sent has been read)."""
    out = b""
    try:
        while chunk := f.read1(65536):
            out += chunk
    except ConnectionResetError:
        pass
    return out


def _closed(f) -> bool:
    """Nothing more comes before the server closes."""
    return _read_to_close(f) == b""


def _exchange(port, *requests: bytes, count=None) -> list[tuple[int, dict, bytes]]:
    """Send raw requests on one connection; read `count` responses (default: one per request)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"".join(requests))
        f = sock.makefile("rb")
        return [_read_response(f) for _ in range(count or len(requests))]


def _post(body: dict, **headers) -> bytes:
    return _request("POST", "/v1/chat/completions", json.dumps(body).encode(),
                    {"Content-Type": "application/json", **headers})


# ---- body framing -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("length,status", [("-1", 400), ("abc", 400), ("26214401", 413), (None, 411)])
def test_a_missing_or_invalid_content_length_is_refused_without_reading_the_body(serve, length, status):
    engine, *_, port = serve()
    # The old server read a Content-Length of -1 as "until the client closes": 200 MB went into memory.
    request = _request("POST", "/v1/chat/completions", b"", {"Content-Length": length})
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request + b"x" * 65536)  # the client keeps the connection open, as an attacker would
        f = sock.makefile("rb")
        got, headers, body = _read_response(f)
        assert got == status
        assert headers.get("connection") == "close" and _closed(f)  # the rest is never read
    assert engine.seen == []


@pytest.mark.parametrize("key,path", [("s3cret", "/v1/chat/completions"), ("", "/v1/nope")])
def test_the_unread_body_of_a_refused_request_is_not_parsed_as_the_next_request(serve, key, path):
    _, _, _, port = serve(api_key=key)
    smuggled = _request("GET", "/health")  # the body of the refused request looks like a request
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    responses = _exchange(port, _request("POST", path, smuggled, {"Authorization": "Bearer wrong"}),
                          _request("GET", "/v1/models", headers=auth))
    assert [r[0] for r in responses] == [401 if key else 404, 200]
    assert json.loads(responses[1][2])["data"][0]["id"] == "fake-llm"


# ---- clients that leave, a bounded queue ----------------------------------------------------------------------
def test_a_non_streaming_client_that_leaves_cancels_its_generation(serve):
    engine, _, client, port = serve(FakeEngine(delay=0.01))
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(_post({**HI, "messages": [{"role": "user", "content": "long"}]}))
    while not engine.seen:
        threading.Event().wait(0.01)
    sock.close()
    assert engine.cancelled.wait(10)  # the old server generated all 200 words for nobody
    assert client.chat.completions.create(**HI).choices[0].message.content.endswith("word")


def test_a_queued_request_whose_client_left_is_skipped(serve):
    engine, server, client, port = serve()
    first = threading.Thread(target=client.chat.completions.create,
                             kwargs={**HI, "messages": [{"role": "user", "content": "hold"}]})
    first.start()
    while not engine.seen:
        threading.Event().wait(0.01)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(_post({**HI, "messages": [{"role": "user", "content": "gone"}]}))
    while not server.engines.waiting:
        threading.Event().wait(0.01)
    sock.close()
    assert server.engines.waiting[0].cancel.wait(10)
    engine.gate.set()
    first.join(20)
    client.chat.completions.create(**HI)
    assert engine.texts() == ["hold", "hi"]


def test_the_queue_is_bounded_and_refuses_with_503_and_retry_after(serve):
    engine, server, client, port = serve(max_queue=2)
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(client.chat.completions.create(
        **{**HI, "messages": [{"role": "user", "content": "hold"}]}))) for _ in range(2)]
    for t in threads:
        t.start()
    while server.engines.admitted < 2:
        threading.Event().wait(0.01)
    [(status, headers, body)] = _exchange(port, _post(HI))
    assert status == 503 and json.loads(body)["error"]["code"] == "overloaded" and int(headers["retry-after"]) >= 1
    engine.gate.set()
    for t in threads:
        t.join(20)
    assert len(answers) == 2 and client.chat.completions.create(**HI).choices[0].message.content


# ---- connections ------------------------------------------------------------------------------------------------
def test_fifty_simultaneous_connections_are_all_answered(serve):
    _, _, _, port = serve()
    barrier, statuses = threading.Barrier(50), []

    def one():
        barrier.wait()
        try:
            statuses.append(_exchange(port, _request("GET", "/v1/models"))[0][0])
        except OSError as e:  # the old listen backlog of 5 reset 5-21 of 50
            statuses.append(type(e).__name__)

    threads = [threading.Thread(target=one) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [200] * 50


def _dropped(s: socket.socket) -> bool:
    """The server closed the connection: an orderly close, or a reset (closing with unread bytes sends RST)."""
    return _closed(s.makefile("rb"))


def test_slow_header_connections_are_dropped(serve):
    _, _, client, port = serve(header_timeout=0.5)
    slow = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(20)]
    for s in slow:
        s.sendall(b"GET /v1/models HTTP/1.1\r\nHo")  # and never the rest
    for s in slow:
        assert _dropped(s)  # at the head deadline; the old server held a thread for each, forever (recv timed out)
        s.close()
    assert client.models.list().data[0].id == "fake-llm"


def test_open_connections_are_capped(serve):
    _, _, client, port = serve(max_connections=6)
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(5)]
    for s in idle:
        s.sendall(b"GET /v1/models HTTP/1.1\r\nHo")
    assert _exchange(port, _request("GET", "/v1/models"))[0][0] == 503  # refused at once, not a thread each
    for s in idle:
        s.close()


def test_a_port_in_use_or_out_of_range_is_one_clear_error(serve):
    from assistant.server import make_server

    _, _, _, port = serve()
    with pytest.raises(UserInputError, match=f"cannot serve on 127.0.0.1:{port}"):
        make_server(FakeEngine(), "127.0.0.1", port)
    with pytest.raises(UserInputError, match="99999"):
        make_server(FakeEngine(), "127.0.0.1", 99999)


# ---- web pages may not drive a keyless server -----------------------------------------------------------------
@pytest.mark.parametrize("headers", [{"Host": "evil.example:8000"},  # DNS rebinding: evil.example -> 127.0.0.1
                                     {"Origin": "https://evil.example", "Content-Type": "text/plain"},
                                     {"Origin": "null"}])
def test_cross_site_requests_are_refused_without_a_key(serve, headers):
    engine, _, _, port = serve()
    others = {k: v for k, v in headers.items() if k != "Host"}
    request = _request("POST", "/v1/chat/completions", json.dumps(HI).encode(), others,
                       host=headers.get("Host", "127.0.0.1"))
    [(status, _, body)] = _exchange(port, request)
    assert status == 403 and json.loads(body)["error"]["type"] == "permission_error"
    assert engine.seen == []


def test_loopback_pages_get_cors_and_a_key_lets_other_origins_in(serve):
    _, _, _, port = serve()
    local = "http://localhost:5173"
    preflight = _request("OPTIONS", "/v1/chat/completions", headers={
        "Origin": local, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,authorization"})
    (pre, pre_headers, _), (post, post_headers, _) = _exchange(port, preflight, _post(HI, Origin=local))
    assert pre == 200 and pre_headers["access-control-allow-origin"] == local
    assert "POST" in pre_headers["access-control-allow-methods"]
    assert post == 200 and post_headers["access-control-allow-origin"] == local
    assert _exchange(port, _request("GET", "/v1/models", host=f"localhost:{port}"))[0][0] == 200
    assert _exchange(port, _request("GET", "/v1/models", host=f"[::1]:{port}"))[0][0] == 200
    _, _, _, keyed = serve(api_key="k")
    evil = {"Origin": "https://app.example", "Authorization": "Bearer k"}
    assert _exchange(keyed, _post(HI, **evil))[0][0] == 200
    assert _exchange(keyed, _post(HI, Origin="https://app.example"))[0][0] == 401


# ---- images -------------------------------------------------------------------------------------------------------
def test_an_8000x8000_png_is_refused_before_decoding(serve):
    import base64

    url = png_url((8000, 8000), "L")  # 61 KB that would decode to 64 MB (and ~286 MB in the old server)
    with pytest.raises(UserInputError, match="too large"):
        load_image(base64.b64decode(url.split(",", 1)[1]))
    _, _, client, _ = serve()
    with pytest.raises(openai.BadRequestError, match="too large"):
        client.chat.completions.create(model="fake-llm", messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": url}}]}])


def test_concurrent_image_decodes_are_bounded(serve, monkeypatch):
    import assistant.openai_schema as schema

    lock, active, peak = threading.Lock(), [0], [0]
    decode = schema.load_image

    def tracked(data):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        threading.Event().wait(0.2)  # long enough for the other requests to arrive meanwhile
        with lock:
            active[0] -= 1
        return decode(data)

    monkeypatch.setattr(schema, "load_image", tracked)
    _, _, client, _ = serve(decode_slots=2)
    message = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": png_url()}}]}]
    threads = [threading.Thread(target=client.chat.completions.create, kwargs={"model": "fake-llm",
                                                                               "messages": message})
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert 1 <= peak[0] <= 2


# ---- parameters ------------------------------------------------------------------------------------------------
def test_top_p_zero_is_greedy(serve):
    engine, _, client, _ = serve()
    r = client.chat.completions.create(**HI, top_p=0)  # the old server dropped the connection
    assert r.choices[0].message.content and engine.seen[-1][1].temperature == 0


@pytest.mark.parametrize("raw,status,param", [
    (json.dumps({**HI, "stream": True, "stream_options": "yes"}), 400, "stream_options"),
    (json.dumps({**HI, "n": 2}), 400, "n"),
    (json.dumps({**HI, "tools": [{"type": "function", "function": {"name": "f"}}]}), 400, "tools"),
    (json.dumps({**HI, "seed": 10 ** 30}), 400, "seed"),
    ('{"model": "fake-llm", "seed": ' + "9" * 5000 + "}", 400, None),
])
def test_bad_parameters_get_a_400_not_a_dropped_connection(serve, raw, status, param):
    engine, _, _, port = serve()
    [(got, _, body)] = _exchange(port, _request("POST", "/v1/chat/completions", raw.encode()))
    assert got == status and json.loads(body)["error"]["param"] == param
    assert engine.seen == []


def test_internal_failures_are_500_not_400(serve, monkeypatch):
    _, _, client, port = serve()
    with pytest.raises(openai.InternalServerError) as e:
        client.chat.completions.create(model="fake-llm", messages=[{"role": "user", "content": "crash"}])
    assert e.value.status_code == 500 and e.value.body["type"] == "server_error"
    monkeypatch.setattr("assistant.server.parse_options", lambda body: 1 / 0)  # a bug in a route
    [(status, _, body)] = _exchange(port, _post(HI))
    assert status == 500 and json.loads(body)["error"]["type"] == "server_error"
    monkeypatch.undo()
    assert client.chat.completions.create(**HI).choices[0].message.content  # and the server goes on

"""The openai backend's HTTP safety: no proxy from the environment (patient text must reach only the
configured server), a configured proxy only for a non-loopback host, no redirects, and a clear
`UserInputError` for every way a server can fail (down, slow, HTTP error, an answer that is not JSON or
not OpenAI-shaped). Every server here is a thread on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from emerge.llm import OpenAIConfig, SamplingConfig, build_backend, parse_llm_config
from foundation.errors import UserInputError

S = SamplingConfig(max_new_tokens=4)
NON_LOOPBACK = "http://10.255.255.1:9/v1"  # never reached: only the proxy sees this address
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")

Reply = tuple[int, dict[str, str], bytes]


def chat_reply(text: str) -> Reply:
    body = json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()
    return 200, {"Content-Type": "application/json"}, body


class FakeServer:
    """An HTTP server on 127.0.0.1 answering every POST with `answer(path, body)`; records the requests."""

    def __init__(self, answer: Callable[[str, dict], Reply]) -> None:
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server API)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "body": body})
                status, headers, data = answer(self.path, body)
                try:
                    self.send_response(status)
                    for name, value in {**headers, "Content-Length": str(len(data))}.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (the timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def serve():
    servers: list[FakeServer] = []

    def start(answer: Callable[[str, dict], Reply]) -> FakeServer:
        servers.append(FakeServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def openai(base_url: str, **kwargs) -> OpenAIConfig:
    return OpenAIConfig(model="m", base_url=base_url, allow_remote_patient_text=True, **kwargs)


def set_env_proxies(monkeypatch, proxy_url: str) -> None:
    """Every proxy variable urllib reads, lower and upper case, pointing at `proxy_url`; no bypass list."""
    for name in PROXY_VARS:
        monkeypatch.setenv(name, proxy_url)
        monkeypatch.setenv(name.upper(), proxy_url)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_environment_proxy_never_sees_a_loopback_prompt(serve, monkeypatch):
    server = serve(lambda path, body: chat_reply("model: " + body["messages"][-1]["content"]))
    proxy = serve(lambda path, body: chat_reply("the proxy answered"))
    set_env_proxies(monkeypatch, proxy.url)
    assert urllib.request.getproxies()["http"] == proxy.url  # urllib's default opener would use it
    backend = build_backend(openai(server.url + "/v1"))
    assert backend.generate(["patient text"], S) == ["model: patient text"]
    assert [r["path"] for r in server.requests] == ["/v1/chat/completions"]
    assert proxy.requests == []


def test_environment_proxy_is_not_used_for_a_non_loopback_host_either(serve, monkeypatch):
    proxy = serve(lambda path, body: chat_reply("the proxy answered"))
    set_env_proxies(monkeypatch, proxy.url)
    backend = build_backend(openai(NON_LOOPBACK, allow_non_loopback=True, timeout_s=0.5))
    with pytest.raises(UserInputError, match="10.255.255.1"):  # tried directly: unreachable here
        backend.generate(["patient text"], S)
    assert proxy.requests == []


def test_configured_proxy_carries_a_non_loopback_request(serve, monkeypatch):
    proxy = serve(lambda path, body: chat_reply("via proxy"))
    other = serve(lambda path, body: chat_reply("environment proxy"))
    set_env_proxies(monkeypatch, other.url)
    backend = build_backend(openai(NON_LOOPBACK, allow_non_loopback=True, proxy=proxy.url))
    assert backend.generate(["x"], S) == ["via proxy"]
    assert [r["path"] for r in proxy.requests] == [NON_LOOPBACK + "/chat/completions"]  # absolute-URI form
    assert other.requests == []


def test_proxy_option_is_validated_and_refused_for_loopback():
    with pytest.raises(UserInputError, match="proxy 'socks5://p:1080' is not an http"):
        parse_llm_config({"backend": "openai", "model": "m", "proxy": "socks5://p:1080"})
    with pytest.raises(UserInputError, match="remove `proxy`"):
        build_backend(openai("http://127.0.0.1:8000/v1", proxy="http://proxy.example.org:3128"), lazy=True)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_server_down_names_the_url_and_how_to_start_one():
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    with pytest.raises(
        UserInputError, match="nothing is listening at .*127.0.0.1.*/v1/chat/completions"
    ) as info:
        build_backend(openai(url)).generate(["x"], S)
    assert "start the OpenAI-compatible server" in str(info.value) and "base_url" in str(info.value)


def test_timeout_names_the_setting(serve):
    def slow(path, body):
        time.sleep(1.5)
        return chat_reply("late")

    server = serve(slow)
    with pytest.raises(UserInputError, match=r"did not answer within timeout_s = 0.3 s.*raise `timeout_s`"):
        build_backend(openai(server.url + "/v1", timeout_s=0.3)).generate(["x"], S)


@pytest.mark.parametrize(
    ("status", "hint"),
    [(500, "see its log"), (404, "usually ending in /v1"), (401, "api_key_env"), (400, "`model:`")],
)
def test_http_error_status_names_the_url_status_and_a_fix(serve, status, hint):
    server = serve(lambda path, body: (status, {}, b'{"error": "no such model m"}'))
    with pytest.raises(UserInputError, match=f"/v1/chat/completions answered HTTP {status}") as info:
        build_backend(openai(server.url + "/v1")).generate(["x"], S)
    assert "no such model m" in str(info.value) and hint in str(info.value)


def test_redirect_is_reported_not_followed(serve):
    target = serve(lambda path, body: chat_reply("redirected"))
    server = serve(lambda path, body: (307, {"Location": target.url + "/v1/chat/completions"}, b""))
    with pytest.raises(UserInputError, match="HTTP 307.*redirects are not followed"):
        build_backend(openai(server.url + "/v1")).generate(["x"], S)
    assert target.requests == []


def test_answer_that_is_not_json(serve):
    server = serve(lambda path, body: (200, {"Content-Type": "text/html"}, b"<html>welcome</html>"))
    with pytest.raises(
        UserInputError, match=r"answered something that is not JSON \('<html>welcome</html>'\)"
    ):
        build_backend(openai(server.url + "/v1")).generate(["x"], S)


@pytest.mark.parametrize(
    "answer",
    [{"error": "model not loaded"}, {"choices": []}, {"choices": [{"message": {"role": "assistant"}}]}, []],
)
def test_answer_without_choices_content(serve, answer):
    server = serve(lambda path, body: (200, {}, json.dumps(answer).encode()))
    with pytest.raises(UserInputError, match=r"answered JSON without choices\[0\]\.message\.content") as info:
        build_backend(openai(server.url + "/v1")).generate(["x"], S)
    assert server.url in str(info.value) and json.dumps(answer) in str(info.value)


def test_completions_answer_without_text(serve):
    server = serve(lambda path, body: (200, {}, b'{"choices": [{"message": {"content": "chat"}}]}'))
    backend = build_backend(openai(server.url + "/v1", use_chat_template=False))
    with pytest.raises(UserInputError, match=r"/v1/completions answered JSON without choices\[0\]\.text"):
        backend.generate(["x"], S)

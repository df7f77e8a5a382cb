"""OpenAI-compatible backend against a tiny HTTP server on 127.0.0.1, its privacy refusals, and the
`emerge llm generate` command (resumable through the cache) on top of it."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from click.testing import CliRunner

from emerge.cli.llm import group
from emerge.llm import OpenAIConfig, SamplingConfig, build_backend
from emerge.llm.openai_backend import is_loopback_host
from foundation.errors import UserInputError


class _Handler(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
        )
        if self.path.endswith("/chat/completions"):
            text = "reply to " + body["messages"][-1]["content"]
            payload = {"choices": [{"message": {"role": "assistant", "content": text}}]}
        else:
            payload = {"choices": [{"text": "completion of " + body["prompt"]}]}
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    _Handler.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", _Handler.requests
    httpd.shutdown()
    httpd.server_close()


def test_loopback_hosts():
    for host in ("localhost", "127.0.0.1", "127.8.9.10", "::1", "[::1]", "LOCALHOST"):
        assert is_loopback_host(host), host
    for host in ("10.0.0.1", "192.168.1.2", "8.8.8.8", "api.openai.com", "localhost.evil.com", "::2"):
        assert not is_loopback_host(host), host


def test_openai_backend_is_off_unless_opted_in():
    with pytest.raises(UserInputError, match="allow_remote_patient_text"):
        build_backend(OpenAIConfig(model="m"))
    with pytest.raises(UserInputError, match="allow_remote_patient_text"):
        build_backend(OpenAIConfig(model="m"), lazy=True)  # refused before any request, lazy or not
    with pytest.raises(UserInputError, match="not a loopback address"):
        build_backend(
            OpenAIConfig(model="m", base_url="http://10.0.0.1/v1", allow_remote_patient_text=True), lazy=True
        )


@pytest.mark.parametrize(
    "url", ["https://api.openai.com/v1", "http://10.1.2.3:8000/v1", "http://myhost:80/v1"]
)
def test_non_loopback_refused_without_second_flag(url, caplog):
    with pytest.raises(UserInputError, match="not a loopback address"):
        build_backend(OpenAIConfig(model="m", base_url=url, allow_remote_patient_text=True))
    with caplog.at_level(logging.WARNING):
        backend = build_backend(
            OpenAIConfig(model="m", base_url=url, allow_remote_patient_text=True, allow_non_loopback=True)
        )
    assert backend.model_id == "m" and "NOT loopback" in caplog.text


def test_bad_url_refused():
    with pytest.raises(UserInputError, match="not an http"):
        build_backend(OpenAIConfig(model="m", base_url="ftp://127.0.0.1/v1", allow_remote_patient_text=True))


def test_generate_against_local_server(server, caplog, monkeypatch):
    url, requests = server
    monkeypatch.setenv("TEST_LLM_KEY", "sekret")
    with caplog.at_level(logging.WARNING):
        backend = build_backend(
            OpenAIConfig(
                model="tiny",
                base_url=url,
                allow_remote_patient_text=True,
                api_key_env="TEST_LLM_KEY",
                max_concurrency=2,
            )
        )
    assert "must not leave the institution" in caplog.text
    sampling = SamplingConfig(temperature=0.2, max_new_tokens=7, seed=4, stop=("STOP",))
    out = backend.generate(
        ["hello", [{"role": "system", "content": "s"}, {"role": "user", "content": "hi STOP x"}]], sampling
    )
    assert out == ["reply to hello", "reply to hi "]  # stop string cut on our side too
    bodies = sorted((r["body"] for r in requests), key=lambda b: b["messages"][-1]["content"])
    assert bodies[0]["messages"] == [{"role": "user", "content": "hello"}]
    assert {k: bodies[0][k] for k in ("model", "temperature", "max_tokens", "seed", "stop")} == {
        "model": "tiny",
        "temperature": 0.2,
        "max_tokens": 7,
        "seed": 4,
        "stop": ["STOP"],
    }
    assert {r["auth"] for r in requests} == {"Bearer sekret"}
    assert backend.count_tokens("abcdefg") == 3 and backend.max_context_tokens == 8192


def test_missing_api_key_env_is_an_error(monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(UserInputError, match="NO_SUCH_KEY_VAR"):
        build_backend(OpenAIConfig(model="m", allow_remote_patient_text=True, api_key_env="NO_SUCH_KEY_VAR"))


def test_completions_mode(server):
    url, requests = server
    backend = build_backend(
        OpenAIConfig(model="m", base_url=url, allow_remote_patient_text=True, use_chat_template=False)
    )
    assert backend.generate(["abc"], SamplingConfig()) == ["completion of abc"]
    assert requests[0]["path"] == "/v1/completions"


def test_cli_generate_writes_output_and_resumes_from_cache(server, tmp_path):
    url, requests = server
    config = tmp_path / "llm.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "backend": "openai",
                "base_url": url,
                "model": "tiny",
                "allow_remote_patient_text": True,
                "sampling": {"max_new_tokens": 9},
            }
        )
    )
    prompts = tmp_path / "prompts.jsonl"
    rows = [
        {"id": 1, "prompt": "a"},
        {"id": "two", "prompt": [{"role": "user", "content": "b"}]},
        {"id": 3, "prompt": "a"},
    ]
    prompts.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    args = [
        "generate",
        "--llm",
        str(config),
        "--prompts",
        str(prompts),
        "--out",
        str(tmp_path / "out.jsonl"),
        "--cache",
        str(tmp_path / "cache.sqlite"),
        "--batch-size",
        "2",
    ]
    first = CliRunner().invoke(group, args, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert out == [
        {"id": 1, "output": "reply to a"},
        {"id": "two", "output": "reply to b"},
        {"id": 3, "output": "reply to a"},
    ]
    assert len(requests) == 2 and requests[0]["body"]["max_tokens"] == 9
    assert json.loads(first.stdout.strip().splitlines()[-1])["generated"] == 2
    second = CliRunner().invoke(group, args + ["--out", str(tmp_path / "out2.jsonl")], catch_exceptions=False)
    assert second.exit_code == 0 and len(requests) == 2  # nothing asked again
    assert json.loads(second.stdout.strip().splitlines()[-1])["model_loaded"] is False  # lazy: never built
    assert (tmp_path / "out2.jsonl").read_text() == (tmp_path / "out.jsonl").read_text()
    third = CliRunner().invoke(group, args + ["--max-new-tokens", "5"], catch_exceptions=False)
    assert third.exit_code == 0 and len(requests) == 4 and requests[-1]["body"]["max_tokens"] == 5


def test_cli_generate_bad_prompts_file(tmp_path):
    bad = tmp_path / "p.jsonl"
    bad.write_text('{"id": 1}\n')
    result = CliRunner().invoke(
        group,
        [
            "generate",
            "--llm",
            "configs/llm/openai_local.yaml",
            "--prompts",
            str(bad),
            "--out",
            str(tmp_path / "o.jsonl"),
        ],
    )
    assert isinstance(result.exception, UserInputError) and "'id' and 'prompt'" in str(result.exception)


def test_cli_generate_bad_sampling_option(tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": 1, "prompt": "x"}\n')
    result = CliRunner().invoke(
        group,
        [
            "generate",
            "--llm",
            "configs/llm/openai_local.yaml",
            "--prompts",
            str(prompts),
            "--out",
            str(tmp_path / "o.jsonl"),
            "--temperature",
            "-1",
        ],
    )
    assert isinstance(result.exception, UserInputError) and "temperature" in str(result.exception)


def test_cli_generate_checks_messages_before_loading(tmp_path, caplog):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": 1, "prompt": [{"role": "robot", "content": "x"}]}\n')
    with caplog.at_level(logging.WARNING):
        result = CliRunner().invoke(
            group,
            [
                "generate",
                "--llm",
                "configs/llm/openai_local.yaml",
                "--prompts",
                str(prompts),
                "--out",
                str(tmp_path / "o.jsonl"),
            ],
        )
    assert isinstance(result.exception, UserInputError) and "role 'robot'" in str(result.exception)
    assert "openai backend enabled" not in caplog.text  # failed before any backend was built


def _generate_args(config, prompts, out, cache):
    return [
        "generate",
        "--llm",
        str(config),
        "--prompts",
        str(prompts),
        "--out",
        str(out),
        "--cache",
        str(cache),
    ]


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_cli_generate_empty_prompts_file(tmp_path, content):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(content)
    args = _generate_args(
        "configs/llm/openai_local.yaml", prompts, tmp_path / "o.jsonl", tmp_path / "c.sqlite"
    )
    result = CliRunner().invoke(group, args)
    assert isinstance(result.exception, UserInputError)
    assert f"prompts file {prompts} holds no prompts" in str(result.exception)


def test_cli_generate_empty_prompt_names_its_line_and_id(tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": "a", "prompt": "fine"}\n\n{"id": "stay-7", "prompt": "   "}\n')
    args = _generate_args(
        "configs/llm/openai_local.yaml", prompts, tmp_path / "o.jsonl", tmp_path / "c.sqlite"
    )
    result = CliRunner().invoke(group, args)
    assert isinstance(result.exception, UserInputError)
    assert str(result.exception).startswith(f'{prompts}:3: prompt of id "stay-7" is empty (only whitespace)')
    assert not (tmp_path / "c.sqlite").exists()  # refused before the cache or a backend was touched


def test_cli_generate_refuses_a_users_out_file_and_reruns_into_its_own(server, tmp_path):
    url, requests = server
    config = tmp_path / "llm.yaml"
    config.write_text(
        yaml.safe_dump(
            {"backend": "openai", "base_url": url, "model": "tiny", "allow_remote_patient_text": True}
        )
    )
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"id": 1, "prompt": "a"}\n')
    users = tmp_path / "results.jsonl"
    users.write_text("the user's own results\n")
    missing = tmp_path / "no-such-prompts.jsonl"  # the --out check comes before anything is read
    refused = CliRunner().invoke(group, _generate_args(config, missing, users, tmp_path / "c.sqlite"))
    assert isinstance(refused.exception, UserInputError)
    assert f"{users} exists and was not written by emerge; refusing to overwrite it" in str(refused.exception)
    assert users.read_text() == "the user's own results\n" and requests == []
    out = tmp_path / "out.jsonl"
    args = _generate_args(config, prompts, out, tmp_path / "c.sqlite")
    for _ in range(2):  # the rerun replaces the file emerge wrote
        result = CliRunner().invoke(group, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert out.read_text() == '{"id": 1, "output": "reply to a"}\n'
    out.write_text("edited by hand\n")  # ours no longer: refused too
    edited = CliRunner().invoke(group, args)
    assert "was changed since emerge wrote it" in str(edited.exception)
    assert out.read_text() == "edited by hand\n"

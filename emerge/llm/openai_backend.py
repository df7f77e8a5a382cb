"""OpenAI-compatible chat-completions client for a server on this machine (urllib, no extra deps).

Privacy guard (MIMIC data use agreement: patient text must not leave the institution):
- the backend refuses to start unless the config sets `allow_remote_patient_text: true`;
- it refuses any host that is not loopback (127.0.0.0/8, ::1, localhost) unless `allow_non_loopback:
  true` is also set; host names other than `localhost` are never resolved, so a name that points at
  127.0.0.1 today is still refused;
- it logs a WARNING every time it is built;
- it never uses a proxy from the environment, and none at all for a loopback host (see `openai_http`).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from emerge.llm.base import LLMBackend, Prompt, SamplingConfig, to_messages
from emerge.llm.config import OpenAIConfig
from emerge.llm.openai_http import build_opener, post_json, reply_text
from foundation.errors import UserInputError

__all__ = ["OpenAIBackend", "is_loopback_host", "check_endpoint_allowed", "api_key", "check_tokenizer_folder"]

logger = logging.getLogger(__name__)

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def is_loopback_host(host: str) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1 (no DNS lookups)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint_allowed(config: OpenAIConfig) -> str:
    """Return the host of `config.base_url` if the two opt-in flags allow it; raise
    `UserInputError` if not."""
    if not config.allow_remote_patient_text:
        raise UserInputError(
            "the openai backend sends prompts (patient text) over HTTP and is off by default; MIMIC's "
            "data use agreement forbids sending patient text outside the institution. If the server "
            "runs on this machine, set `allow_remote_patient_text: true` in the LLM config"
        )
    parts = urlsplit(config.base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserInputError(
            f"base_url {config.base_url!r} is not an http(s) URL; expected e.g. http://127.0.0.1:8000/v1"
        )
    host = parts.hostname
    if not is_loopback_host(host) and not config.allow_non_loopback:
        raise UserInputError(
            f"base_url host {host!r} is not a loopback address (127.0.0.0/8, ::1, localhost); patient text "
            f"must not leave the institution. Use a server on this machine, or, only for a server inside the "
            f"institution covered by the data use agreement, also set `allow_non_loopback: true`"
        )
    if config.proxy is not None and is_loopback_host(host):
        raise UserInputError(
            f"proxy {config.proxy!r} is set but base_url {config.base_url!r} is on this machine: a proxy "
            f"would receive the prompts (patient text) and could answer in the model's place; remove "
            f"`proxy` from the LLM config (loopback servers are always reached directly)"
        )
    return host


def api_key(config: OpenAIConfig) -> str | None:
    """The API key from the environment variable named by `api_key_env` (None when none is named)."""
    if not config.api_key_env:
        return None
    key = os.environ.get(config.api_key_env)
    if key is None:
        raise UserInputError(
            f"api_key_env is {config.api_key_env!r} but that environment variable is not set; export it "
            f"or remove api_key_env from the LLM config"
        )
    return key


def check_tokenizer_folder(config: OpenAIConfig) -> None:
    """Refuse a `tokenizer` that is not a local folder with tokenizer files (nothing is downloaded)."""
    folder = config.tokenizer
    if folder is None:
        return
    if not folder.is_dir() or not any((folder / name).is_file() for name in _TOKENIZER_FILES):
        raise UserInputError(
            f"tokenizer {folder} is not a folder with {' or '.join(_TOKENIZER_FILES)}; point `tokenizer` "
            f"in the LLM config at the served model's local folder, or set it to null to estimate token "
            f"counts"
        )


class OpenAIBackend(LLMBackend):
    """POST /chat/completions (or /completions when `use_chat_template: false`), one request per prompt,
    up to `max_concurrency` in flight."""

    name = "openai"

    def __init__(self, config: OpenAIConfig) -> None:
        host = check_endpoint_allowed(config)
        logger.warning(
            "openai backend enabled for %s: prompts are sent over HTTP. Patient text must not leave the "
            "institution (MIMIC data use agreement); use only a server you control%s.",
            config.base_url,
            "" if is_loopback_host(host) else " -- this host is NOT loopback",
        )
        self.config = config
        self.model_id = config.model
        self._base = config.base_url.rstrip("/")
        self._api_key = api_key(config)
        # Loopback: never a proxy; otherwise only the config's. The environment's proxy variables never count.
        self._opener = build_opener(None if is_loopback_host(host) else config.proxy)
        self._tokenizer = None
        if config.tokenizer is not None:
            from transformers import AutoTokenizer

            check_tokenizer_folder(config)
            self._tokenizer = AutoTokenizer.from_pretrained(
                str(config.tokenizer), trust_remote_code=False, local_files_only=True
            )
        else:
            logger.info("openai backend: no `tokenizer` set, token counts are estimated as ceil(chars / 3)")

    @property
    def max_context_tokens(self) -> int:
        return self.config.max_context_tokens

    def count_tokens(self, text: str) -> int:
        if self._tokenizer is not None:
            return len(self._tokenizer.encode(text, add_special_tokens=False))
        return math.ceil(len(text) / 3)  # conservative for English BPE vocabularies (~4 chars per token)

    def _post(self, path: str, body: dict, chat: bool) -> str:
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        url = self._base + path
        return reply_text(post_json(self._opener, url, body, headers, self.config.timeout_s), url, chat)

    def _one(self, prompt: Prompt, sampling: SamplingConfig) -> str:
        body = {
            "model": self.config.model,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_new_tokens,
            "seed": sampling.seed,
        }
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if self.config.use_chat_template:
            body["messages"] = to_messages(prompt)
            return self._post("/chat/completions", body, chat=True)
        body["prompt"] = prompt if isinstance(prompt, str) else "\n".join(m["content"] for m in prompt)
        return self._post("/completions", body, chat=False)

    def _generate(self, prompts: list[Prompt], sampling: SamplingConfig) -> list[str]:
        with ThreadPoolExecutor(max_workers=self.config.max_concurrency) as pool:
            return list(pool.map(lambda p: self._one(p, sampling), prompts))

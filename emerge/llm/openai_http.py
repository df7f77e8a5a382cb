"""HTTP for the openai backend: the prompts go only where the config says, and failures say what to do.

- No proxy from the environment: urllib's default opener sends every request through `http_proxy` /
  `https_proxy` / `all_proxy`, so a prompt with patient text would go to the proxy and the proxy's answer
  would be cached as the model's. `build_opener` never reads those variables: a loopback server is
  reached directly, a non-loopback one through the config's `proxy` only when it names one.
- No redirects: a server that answers 30x is reported, not followed (a redirect could send the request,
  with its API key, to another host).
- Every failure (server down, timeout, HTTP error status, an answer that is not JSON or not
  OpenAI-shaped) is a `UserInputError` naming the URL, what happened and the fix.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from foundation.errors import UserInputError

__all__ = ["build_opener", "post_json", "reply_text"]

_SHOW = 300  # characters of a bad answer quoted in an error

# What to check for an HTTP error status (the first matching class of status codes).
_STATUS_FIXES = (
    (
        (301, 302, 303, 307, 308),
        "redirects are not followed; set `base_url` to the address the server really answers at",
    ),
    ((401, 403), "the server wants an API key: export it and name the variable in `api_key_env`"),
    ((404,), "is `base_url` the server's OpenAI-compatible API root (usually ending in /v1)?"),
    ((400, 422), "check `model:` in the LLM config (the name the server serves) and the sampling settings"),
)


class _RefuseRedirect(urllib.request.HTTPRedirectHandler):
    """Do not follow 30x answers: urllib then raises them as an `HTTPError` (reported with a fix)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102 (urllib API)
        return None


def build_opener(proxy: str | None) -> urllib.request.OpenerDirector:
    """An opener that uses `proxy` (or none) and ignores the environment's proxy variables."""
    proxies = {"http": proxy, "https": proxy} if proxy else {}
    return urllib.request.build_opener(urllib.request.ProxyHandler(proxies), _RefuseRedirect())


def _status_error(url: str, exc: urllib.error.HTTPError) -> UserInputError:
    try:
        detail = exc.read().decode("utf-8", "replace")[:_SHOW]
    except OSError:
        detail = ""
    fix = next(
        (fix for codes, fix in _STATUS_FIXES if exc.code in codes),
        "the server failed on this request; see its log" if exc.code >= 500 else "see the server's log",
    )
    return UserInputError(f"{url} answered HTTP {exc.code} {exc.reason}: {detail!r}; {fix}")


def _timeout_error(url: str, timeout_s: float) -> UserInputError:
    return UserInputError(
        f"{url} did not answer within timeout_s = {timeout_s:g} s; check that the server is not stuck or "
        f"overloaded, or raise `timeout_s` in the LLM config"
    )


def _unreachable_error(url: str, reason: object) -> UserInputError:
    if isinstance(reason, ConnectionRefusedError):
        return UserInputError(
            f"nothing is listening at {url} (connection refused); start the OpenAI-compatible server (e.g. "
            f"`llama-server -m MODEL.gguf --port 8000` or `vllm serve MODEL --port 8000`), or fix `base_url` "
            f"in the LLM config"
        )
    return UserInputError(
        f"cannot reach {url} ({reason}); check that the server runs and that `base_url` "
        f"in the LLM config is right"
    )


def post_json(
    opener: urllib.request.OpenerDirector,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    timeout_s: float,
) -> Any:
    """POST `body` as JSON to `url` and return the decoded JSON answer; every failure is a
    `UserInputError`."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST"
    )
    try:
        with opener.open(request, timeout=timeout_s) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise _status_error(url, exc) from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise _timeout_error(url, timeout_s) from exc
        raise _unreachable_error(url, exc.reason) from exc
    except TimeoutError as exc:  # the connection was made, the answer did not come in time
        raise _timeout_error(url, timeout_s) from exc
    except (http.client.HTTPException, ConnectionError) as exc:
        raise UserInputError(
            f"the connection to {url} broke before a whole answer came ({type(exc).__name__}: "
            f"{exc}); check the server's log, then run again"
        ) from exc
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"{url} answered something that is not JSON ({text[:_SHOW]!r}); `base_url` must be the root "
            f"of an OpenAI-compatible API (usually ending in /v1)"
        ) from exc


def reply_text(reply: Any, url: str, chat: bool) -> str:
    """`choices[0].message.content` (chat) or `choices[0].text` (completions) of an answer; a null
    text is ""."""
    field = "message.content" if chat else "text"
    try:
        choice = reply["choices"][0]
        text = choice["message"]["content"] if chat else choice["text"]
    except (KeyError, IndexError, TypeError) as exc:
        raise UserInputError(
            f"{url} answered JSON without choices[0].{field} ({json.dumps(reply)[:_SHOW]}); the server "
            f"is not OpenAI-compatible or reported an error: check the server's log and `model:` in the "
            f"LLM config"
        ) from exc
    if text is not None and not isinstance(text, str):
        raise UserInputError(
            f"{url} answered choices[0].{field} of type {type(text).__name__}, not a string "
            f"({json.dumps(reply)[:_SHOW]}); the server is not OpenAI-compatible"
        )
    return text or ""

"""No surprise sockets: the default LLM and the default text encoder run end to end without a single
network call, even with the offline switches of huggingface_hub / transformers unset and a proxy set.

MIMIC's data use agreement forbids sending patient text outside the institution, and nothing may
download at run time. A subprocess (with a clean environment: this test session's conftest sets
HF_HUB_OFFLINE, which would hide a hub lookup) installs an audit hook that records, and blocks, every
socket connect and name lookup, then builds the default backend (the bundled SmolLM2 via transformers,
converted from its GGUF under a fresh EMERGE_CACHE), generates two answers, loads the default
`BiEncoder` and encodes two texts. A last, deliberate lookup proves that the hook was listening.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.paths import REPO

OFFLINE_SWITCHES = (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "HF_HUB_DISABLE_TELEMETRY",
)
PROXY = "http://127.0.0.1:9"

PROBE = r"""
import json, socket, sys, traceback

EVENTS = ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname")
seen = []

def hook(event, args):
    if event in EVENTS:
        seen.append(
            {"event": event, "args": repr(args)[:200], "stack": "".join(traceback.format_stack(limit=15))}
        )
        raise ConnectionRefusedError(f"{event} blocked by test_no_network")

sys.addaudithook(hook)

from drehr.model import BiEncoder
from emerge.llm import SamplingConfig
from emerge.llm.factory import build_backend

texts = build_backend(None).generate(["What is sepsis?", "Define anemia."], SamplingConfig(max_new_tokens=4))
vectors = BiEncoder.from_pretrained("default").encode(["fever", "low blood pressure"])
work = list(seen)
try:
    socket.getaddrinfo("localhost", 9)
except ConnectionRefusedError:
    pass
with open(sys.argv[1], "w") as fh:
    json.dump({"work": work, "control": seen[len(work):], "texts": texts, "shape": list(vectors.shape)}, fh)
"""


def _environment(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_SWITCHES}
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        env[name] = env[name.upper()] = PROXY
    env.pop("no_proxy", None)
    env.pop("NO_PROXY", None)
    env["EMERGE_CACHE"] = str(cache)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def test_default_llm_and_encoder_open_no_socket(tmp_path):
    report = tmp_path / "sockets.json"
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(report)],
        cwd=tmp_path,
        env=_environment(tmp_path / "cache"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(report.read_text())
    assert seen["work"] == [], "\n\n".join(f"{s['event']} {s['args']}\n{s['stack']}" for s in seen["work"])
    assert [s["event"] for s in seen["control"]] == ["socket.getaddrinfo"]  # the hook was listening
    assert len(seen["texts"]) == 2 and seen["shape"] == [2, 384]

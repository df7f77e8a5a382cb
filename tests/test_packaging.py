"""A regular (non-editable) install ships the configs: `emerge run --config demo` works from any folder."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from tests.helpers.paths import REPO

SCRIPT = """
import sys
from emerge.cli import main
import emerge.experiment.config as config
print("CONFIGS", config.CONFIGS)
try:
    main(["run", "--config", "demo", "--out", "demo_out", "--check"])
except SystemExit as exc:
    sys.exit(exc.code)
"""


def test_a_built_wheel_resolves_the_shipped_configs_by_name_from_any_folder(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("emerge_drehr-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        zf.extractall(site)
    for kind in (
        "experiment/demo.yaml",
        "model/emerge_full.yaml",
        "trainer/cpu_fast.yaml",
        "llm/smollm2.yaml",
        "retriever/stage1_minilm.yaml",
    ):
        assert f"emerge/configs/{kind}" in names, kind
    work = tmp_path / "elsewhere"
    work.mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"CONFIGS {site / 'emerge' / 'configs'}" in proc.stdout  # the installed copy, not this checkout
    assert "demo: ready to run" in proc.stdout

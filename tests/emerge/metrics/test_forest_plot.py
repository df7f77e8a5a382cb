"""The forest plot writes a valid PNG of the expected size, atomically and with the usual permissions."""

from __future__ import annotations

import os
import struct

import pytest

from emerge.metrics import forest_plot
from foundation.errors import UserInputError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which a PNG must start with."""
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _rows():
    return [
        {
            "model": "emerge_full",
            "auroc": 0.8457,
            "auroc_ci": [0.83, 0.86],
            "auprc": 0.47,
            "auprc_ci": [0.43, 0.51],
        },
        {
            "model": "ts_only",
            "auroc": 0.8112,
            "auroc_ci": [0.79, 0.83],
            "auprc": 0.41,
            "auprc_ci": [0.37, 0.45],
        },
        # An undefined AUPRC (null in metrics.json) and no intervals still plot.
        {"model": "text_only", "auroc": 0.7, "auprc": None},
    ]


def test_forest_plot_writes_a_png_of_the_expected_size(tmp_path):
    out = forest_plot(_rows(), tmp_path / "plots" / "forest.png", title="mortality", reference="ts_only")
    assert out == tmp_path / "plots" / "forest.png"
    data = out.read_bytes()
    width, height = _png_size(data)
    # 9 x (1.6 + 0.35 * 3) inches at 100 dpi: 900 x 265 px.
    assert width == 900 and 250 <= height <= 280
    assert 5_000 < len(data) < 500_000
    assert os.listdir(out.parent) == ["forest.png"]  # no temporary file left behind
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def test_forest_plot_height_grows_with_rows(tmp_path):
    one = _png_size(forest_plot(_rows()[:1], tmp_path / "one.png").read_bytes())
    twelve = [dict(row, model=f"model_{i}") for i, row in enumerate(_rows() * 4)]
    many = _png_size(forest_plot(twelve, tmp_path / "many.png").read_bytes())
    # 100 * (1.6 + 0.35 * rows) px high: 195 for one row, 580 for twelve.
    assert one == (900, 195) and many == (900, 580)


def test_forest_plot_rejects_bad_rows(tmp_path):
    with pytest.raises(UserInputError, match="at least one row"):
        forest_plot([], tmp_path / "x.png")
    with pytest.raises(UserInputError, match="lacks \\['auprc'\\]"):
        forest_plot([{"model": "a", "auroc": 0.7}], tmp_path / "x.png")
    with pytest.raises(UserInputError, match="reference model 'nope'"):
        forest_plot(_rows(), tmp_path / "x.png", reference="nope")
    with pytest.raises(UserInputError, match="more than once"):
        forest_plot(_rows() + _rows()[:1], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()

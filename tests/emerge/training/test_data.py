"""The model-ready data contract: validation, save / load, fingerprint, encoder check."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from emerge.training import ModelReadyData, make_synthetic_data
from foundation.errors import ArtifactError, UserInputError


def _replace(data, **kw):
    return dataclasses.replace(data, **kw)


def test_save_load_roundtrip(tmp_path, tiny_data):
    tiny_data.save(tmp_path / "d")
    back = ModelReadyData.load(tmp_path / "d")
    for k, v in tiny_data.tensors().items():
        assert torch.equal(back.tensors()[k], v), k
    assert (back.split == tiny_data.split).all()
    assert back.text_encoder == "synthetic" and back.fingerprint() == tiny_data.fingerprint()
    assert back.dims == tiny_data.dims


def test_load_refuses_other_artifacts(tmp_path, tiny_data):
    with pytest.raises(ArtifactError, match="not found"):
        ModelReadyData.load(tmp_path)
    tiny_data.save(tmp_path)
    cfg = tmp_path / "config.json"
    cfg.write_text(cfg.read_text().replace('"format_version": 2', '"format_version": 99'))
    with pytest.raises(ArtifactError, match="damaged after emerge wrote it"):
        ModelReadyData.load(tmp_path)
    from foundation.outputs import write_manifest

    write_manifest(tmp_path, "emerge_model_ready", 99, None)  # as another version would have written it
    with pytest.raises(ArtifactError, match="format_version 99"):
        ModelReadyData.load(tmp_path)


def test_fingerprint_changes_with_content(tiny_data):
    y = tiny_data.y.clone()
    y[0, 0] = 1 - y[0, 0]
    assert _replace(tiny_data, y=y).fingerprint() != tiny_data.fingerprint()


def test_nan_in_time_series_names_the_stay(tiny_data):
    x = tiny_data.x.clone()
    x[3, 2, 1] = float("nan")
    with pytest.raises(UserInputError, match="x holds NaN or inf in 1 stay.*1003"):
        _replace(tiny_data, x=x)


def test_inf_in_note_embeddings_is_refused(tiny_data):
    notes = tiny_data.notes.clone()
    notes[5, 0, 0] = float("inf")
    with pytest.raises(UserInputError, match="notes holds NaN or inf"):
        _replace(tiny_data, notes=notes)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: {"y": d.y * 2}, "0, 1 or NaN"),
        (lambda d: {"stay_id": torch.zeros_like(d.stay_id)}, "duplicates"),
        (lambda d: {"split": np.where(d.split == "val", "valid", d.split)}, "valid"),
        (lambda d: {"notes_mask": None}, "together"),
        (lambda d: {"summary": d.summary[:, :, :4]}, "differ in width"),
        (lambda d: {"x_mask": d.x_mask[:, :5]}, "x_mask must be"),
    ],
)
def test_bad_fields_raise_clear_errors(tiny_data, change, message):
    with pytest.raises(UserInputError, match=message):
        _replace(tiny_data, **change(tiny_data))


def test_unknown_labels_are_allowed_and_no_notes_rows_exist():
    data = make_synthetic_data(n_stays=40, steps=4, features=3, obs_features=2, text_dim=4, seed=1)
    y = data.y.clone()
    y[0, 1] = float("nan")
    _replace(data, y=y)  # NaN = unknown label is valid
    assert (~data.notes_mask.any(dim=1)).any()


def test_text_encoder_mismatch_is_refused(tiny_data):
    tiny_data.check_text_encoder("synthetic")
    tiny_data.check_text_encoder(None)
    with pytest.raises(UserInputError, match="re-embed"):
        tiny_data.check_text_encoder("drehr-small")


def test_fingerprint_of_a_subset_of_modalities_ignores_the_others(tiny_data):
    """A time-series-only run keeps its identity when summary embeddings are added to the data."""
    summary = torch.zeros_like(tiny_data.notes)
    with_summary = _replace(tiny_data, summary=summary, summary_mask=tiny_data.notes_mask.clone())
    assert with_summary.fingerprint() != tiny_data.fingerprint()
    assert with_summary.fingerprint(()) == tiny_data.fingerprint(())
    assert with_summary.fingerprint({"notes"}) == tiny_data.fingerprint({"notes"})
    assert with_summary.fingerprint({"notes", "summary"}) != tiny_data.fingerprint({"notes"})
    y = tiny_data.y.clone()
    y[0, 0] = 1 - y[0, 0]
    assert _replace(tiny_data, y=y).fingerprint(()) != tiny_data.fingerprint(())

import os
import stat

import pytest

from kg.artifacts import atomic_write_text, read_config, stable_hash, write_config
from kg.errors import ArtifactError


def test_config_roundtrip_and_checks(tmp_path):
    write_config(tmp_path, "thing", 2, {"a": 1, "path": tmp_path})
    body = read_config(tmp_path, "thing", 2)
    assert body["a"] == 1 and body["path"] == str(tmp_path)
    with pytest.raises(ArtifactError, match="format_version 2"):
        read_config(tmp_path, "thing", 3)
    with pytest.raises(ArtifactError, match="describes a 'thing'"):
        read_config(tmp_path, "other", 2)
    with pytest.raises(ArtifactError, match="not a saved"):
        read_config(tmp_path / "missing", "thing", 2)


def test_stable_hash_ignores_dict_order_and_sees_values():
    assert stable_hash({"a": 1, "b": 2}) == stable_hash({"b": 2, "a": 1})
    assert stable_hash({"a": 1}) != stable_hash({"a": 2})


def test_atomic_write_gives_normal_permissions(tmp_path):
    path = tmp_path / "x.json"
    atomic_write_text(path, "{}")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode & stat.S_IRGRP  # readable by the group, not 0600
    assert not list(tmp_path.glob(".*.tmp"))

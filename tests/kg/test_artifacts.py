import os
import stat

import pytest

from foundation.artifacts import atomic_directory, atomic_write_text, read_config, stable_hash, write_config
from foundation.errors import ArtifactError


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


def test_iter_json_objects_names_file_line_and_expectation(tmp_path):
    from foundation.artifacts import iter_json_objects
    from foundation.errors import UserInputError

    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\n')
    assert list(iter_json_objects(path, "{a}")) == [(1, {"a": 1}), (3, {"a": 2})]
    path.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(UserInputError, match=r"x.jsonl:2: expected \{a\}"):
        list(iter_json_objects(path, "{a}"))
    path.write_text("{bad\n")
    with pytest.raises(UserInputError, match=r"x.jsonl:1 is not valid JSON"):
        list(iter_json_objects(path, "{a}"))
    with pytest.raises(UserInputError, match="not found"):
        list(iter_json_objects(tmp_path / "none.jsonl", "{a}"))


def test_atomic_directory_replaces_keeps_and_cleans_up(tmp_path):
    target = tmp_path / "model"
    with atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("one")
        assert not target.exists()  # nothing visible until the block ends
    assert (target / "a.txt").read_text() == "one"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~umask  # not mkdtemp's private 0700

    with atomic_directory(target) as tmp:  # a re-save replaces the folder
        (tmp / "b.txt").write_text("two")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]

    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:  # an error keeps the old folder
        (tmp / "c.txt").write_text("half")
        raise RuntimeError("killed")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]

    with atomic_directory(target, keep_existing_with="b.txt") as tmp:  # another process won the race
        (tmp / "b.txt").write_text("mine")
    assert (target / "b.txt").read_text() == "two"
    with pytest.raises(OSError), atomic_directory(target, keep_existing_with="missing") as tmp:
        (tmp / "x").write_text("x")  # the existing folder is not a complete copy: an error, not a silent drop
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary folder left behind

"""Folders we own, cached steps reused only when whole and current, and files we never delete."""

import json
import os

import pytest

from foundation.artifacts import file_fingerprint
from foundation.errors import UserInputError
from foundation.outputs import (
    MANIFEST_NAME,
    cached_step,
    check_file_replaceable,
    claim_folder,
    clean_leftovers,
    read_manifest,
    remove_owned,
    verify,
    write_owned_text,
)


class Builder:
    """A step that writes two files (one nested) and counts how often it ran."""

    def __init__(self, text="a,b\n1,2\n"):
        self.text, self.calls = text, 0

    def __call__(self, tmp):
        self.calls += 1
        (tmp / "table.csv").write_text(self.text)
        (tmp / "sub").mkdir()
        (tmp / "sub" / "w.bin").write_bytes(b"\x00" * 64)
        return {"rows": 1}


def test_a_step_is_built_once_then_reused_and_rebuilt_for_another_key(tmp_path):
    target, build = tmp_path / "out", Builder()
    first = cached_step(target, "demo_kind", 1, "k1", build)
    assert not first.reused and first.info == {"rows": 1} and build.calls == 1
    manifest = read_manifest(target)
    assert set(manifest.files) == {"table.csv", "sub/w.bin"} and manifest.key == "k1"
    assert cached_step(target, "demo_kind", 1, "k1", build).reused and build.calls == 1
    assert not cached_step(target, "demo_kind", 1, "k2", build).reused and build.calls == 2
    assert not cached_step(target, "demo_kind", 2, "k2", build).reused and build.calls == 3  # new format
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left


@pytest.mark.parametrize("damage", ["delete", "truncate", "same_size_edit_same_mtime"])
def test_a_damaged_output_is_rebuilt(tmp_path, damage):
    target, build = tmp_path / "out", Builder()
    cached_step(target, "demo_kind", 1, "k", build)
    path = target / "table.csv"
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        path.write_text("a,b\n")
    else:
        st = path.stat()
        path.write_text("a,b\n9,2\n")  # same size
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # a copy or a touch changes the mtime
    assert verify(target, read_manifest(target))
    again = cached_step(target, "demo_kind", 1, "k", build)
    assert not again.reused and build.calls == 2 and path.read_text() == build.text
    assert verify(target, read_manifest(target)) == []


@pytest.mark.parametrize("foreign", ["dataset.json", "config.json", "SYNTHETIC.md"])
def test_a_users_folder_is_never_replaced_and_nothing_is_built(tmp_path, foreign):
    user = tmp_path / "project"
    (user / "src").mkdir(parents=True)
    (user / foreign).write_text(json.dumps({"kind": "ehr_dataset", "format_version": 1, "key": "k"}))
    (user / "src" / "train.py").write_text("print('mine')\n")
    (user / "results.csv").write_text("x\n1\n")
    build = Builder()
    with pytest.raises(UserInputError, match=r"project is not empty and was not written by emerge.*refusing"):
        cached_step(user, "ehr_dataset", 1, "k", build)
    assert build.calls == 0
    assert (user / "src" / "train.py").read_text() == "print('mine')\n" and (user / "results.csv").exists()
    assert (user / foreign).exists()


def test_our_folder_with_a_users_file_added_is_refused_until_it_is_moved(tmp_path):
    target, build = tmp_path / "out", Builder()
    cached_step(target, "demo_kind", 1, "k1", build)
    (target / "my_notes.txt").write_text("keep me")
    with pytest.raises(UserInputError, match=r"files emerge did not write \(my_notes.txt\)"):
        cached_step(target, "demo_kind", 1, "k2", build)
    assert (target / "my_notes.txt").read_text() == "keep me" and build.calls == 1
    (target / "my_notes.txt").unlink()
    assert not cached_step(target, "demo_kind", 1, "k2", build).reused


def test_other_kinds_and_files_are_refused(tmp_path):
    cached_step(tmp_path / "a", "kind_a", 1, "k", Builder())
    with pytest.raises(UserInputError, match=r"holds a 'kind_a' written by emerge, not a 'kind_b'"):
        cached_step(tmp_path / "a", "kind_b", 1, "k", Builder())
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserInputError, match="exists and is not a folder"):
        cached_step(tmp_path / "file", "kind_a", 1, "k", Builder())
    with pytest.raises(UserInputError, match="not a 'kind_b'"):
        remove_owned(tmp_path / "a", "kind_b")
    remove_owned(tmp_path / "a", "kind_a")
    assert not (tmp_path / "a").exists()


def test_a_failed_build_keeps_the_old_folder_and_leftovers_are_cleaned(tmp_path):
    target = tmp_path / "out"
    cached_step(target, "demo_kind", 1, "k1", Builder("old\n"))

    def broken(tmp):
        (tmp / "table.csv").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cached_step(target, "demo_kind", 1, "k2", broken)
    assert (target / "table.csv").read_text() == "old\n" and read_manifest(target).key == "k1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    # a SIGKILL leaves the temporary folder: the next run removes it, but never a folder it did not mark
    killed = tmp_path / ".out.building-abc"
    killed.mkdir()
    (killed / ".emerge-incomplete").write_text("")
    (killed / "part").write_text("x")
    lookalike = tmp_path / ".out.building-user"
    lookalike.mkdir()
    (lookalike / "mine.txt").write_text("x")
    clean_leftovers(target)
    assert not killed.exists() and (lookalike / "mine.txt").exists()


def test_claim_folder_marks_new_folders_and_refuses_foreign_ones(tmp_path):
    manifest = claim_folder(tmp_path / "run", "emerge_experiment", key="cfg")
    assert manifest.growing and (tmp_path / "run" / MANIFEST_NAME).is_file()
    (tmp_path / "run" / "metrics.json").write_text("{}")
    assert claim_folder(tmp_path / "run", "emerge_experiment").key == "cfg"
    with pytest.raises(UserInputError, match="not a 'training_run'"):
        claim_folder(tmp_path / "run", "training_run")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    with pytest.raises(UserInputError, match=r"mine is not empty and was not written by emerge.*thesis.tex"):
        claim_folder(tmp_path / "mine", "emerge_experiment")
    (tmp_path / "empty").mkdir()
    assert claim_folder(tmp_path / "empty", "emerge_experiment").growing
    with pytest.raises(
        UserInputError, match="files emerge did not write"
    ):  # a growing folder is never replaced
        remove_owned(tmp_path / "run", "emerge_experiment")


def test_single_files_are_overwritten_only_when_ours_and_unchanged(tmp_path):
    out = tmp_path / "links.jsonl"
    write_owned_text(out, "a\n")
    write_owned_text(out, "b\n")  # a rerun replaces our own file
    assert out.read_text() == "b\n"
    out.write_text("edited by the user\n")
    with pytest.raises(UserInputError, match="was changed since emerge wrote it"):
        write_owned_text(out, "c\n")
    theirs = tmp_path / "results.csv"
    theirs.write_text("x\n")
    with pytest.raises(UserInputError, match="was not written by emerge; refusing to overwrite"):
        write_owned_text(theirs, "y\n")
    assert theirs.read_text() == "x\n"
    with pytest.raises(UserInputError, match="is a folder"):
        check_file_replaceable(tmp_path)


def test_input_fingerprints_see_same_size_same_mtime_edits(tmp_path):
    table = tmp_path / "patients.csv"
    table.write_text("subject_id,gender\n1,M\n")
    st = table.stat()
    before = file_fingerprint(table)
    table.write_text("subject_id,gender\n1,F\n")
    os.utime(table, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert table.stat().st_size == st.st_size and table.stat().st_mtime_ns == st.st_mtime_ns
    assert file_fingerprint(table) != before


def test_finished_outputs_get_the_usual_permissions(tmp_path):
    from safetensors.numpy import save_file

    def build(tmp):
        import numpy as np

        save_file({"x": np.zeros(3, dtype=np.float32)}, str(tmp / "w.safetensors"))  # written 0600
        (tmp / "sub").mkdir(mode=0o700)
        (tmp / "sub" / "t.txt").write_text("x")
        os.chmod(tmp / "sub" / "t.txt", 0o600)

    mask = os.umask(0o022)
    try:
        cached_step(tmp_path / "out", "demo_kind", 1, "k", build)
    finally:
        os.umask(mask)
    modes = {
        p.relative_to(tmp_path / "out").as_posix(): p.stat().st_mode & 0o777
        for p in (tmp_path / "out").rglob("*")
    }
    assert modes == {"w.safetensors": 0o644, "sub": 0o755, "sub/t.txt": 0o644, MANIFEST_NAME: 0o644}
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755

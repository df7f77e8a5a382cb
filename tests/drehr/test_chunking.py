from drehr.chunking import chunk_note, clean_note, split_words


def test_clean_note_removes_tags_blanks_and_runs():
    raw = "Pt  [**Name (NI) 123**] seen by ___ on ___.\n\n-----  BP high!!! ... ok"
    assert clean_note(raw) == "Pt seen by on . - BP high! . ok"


def test_split_words_overlap_and_tail():
    words = [f"w{i}" for i in range(250)]
    pieces = split_words(" ".join(words), size=100, overlap=10)
    assert [p.split()[0] for p in pieces] == ["w0", "w90", "w180"]
    assert pieces[0].split()[-10:] == pieces[1].split()[:10]
    assert pieces[-1].split()[-1] == "w249"
    assert len(pieces[-1].split()) == 70


def test_split_words_exact_size_gives_one_piece():
    assert len(split_words(" ".join(["a"] * 100), 100, 10)) == 1


def test_chunk_note_ids_and_short_notes_skipped():
    chunks = chunk_note("n7", "p1", " ".join(["word"] * 120))
    assert [c.chunk_id for c in chunks] == ["n7_0", "n7_1"]
    assert all(c.patient_id == "p1" for c in chunks)
    assert chunk_note("n8", "p1", "too short " * 10) == []

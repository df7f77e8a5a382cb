import numpy as np

from emerge.text.embed import embed_stay_texts


class CountingEncoder:
    """Deterministic fake encoder: a text's vector depends on its words; counts encoded texts."""

    fingerprint = "fake-v1"

    def __init__(self):
        self.encoded = 0

    def encode(self, texts, batch_size=64, show_progress_bar=False):
        self.encoded += len(texts)
        out = np.array([[len(t.split()), sum(map(ord, t)) % 97, 1.0] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_padding_masks_last_chunks_and_missing_stays(tmp_path):
    long_note = " ".join(f"w{i}" for i in range(350))  # 100/10 chunks -> 4 chunks
    texts = {1: ["short note here"], 2: [long_note], 3: []}
    enc = CountingEncoder()
    out = embed_stay_texts([1, 2, 3, 4], texts, enc, tmp_path, max_chunks=3, shard_size=2)
    assert out.emb.shape == (4, 3, 3) and out.mask.shape == (4, 3)
    assert out.mask.sum(1).tolist() == [1, 3, 0, 0]
    assert np.all(out.emb[~out.mask] == 0)
    # stay 2 keeps its last three chunks: the last one starts at word 270
    last = enc.encode([" ".join(f"w{i}" for i in range(270, 350))])[0]
    np.testing.assert_allclose(out.emb[1, 2], last)


def test_rerun_reuses_shards_and_other_encoder_does_not(tmp_path):
    texts = {i: [f"note of stay {i} " * 5] for i in range(10)}
    enc = CountingEncoder()
    first = embed_stay_texts(list(range(10)), texts, enc, tmp_path, shard_size=4)
    n = enc.encoded
    again = embed_stay_texts(list(range(10)), texts, enc, tmp_path, shard_size=4)
    assert enc.encoded == n  # every shard came from the cache
    np.testing.assert_array_equal(first.emb, again.emb)
    other = CountingEncoder()
    other.fingerprint = "fake-v2"
    embed_stay_texts(list(range(10)), texts, other, tmp_path, shard_size=4)
    assert other.encoded == n

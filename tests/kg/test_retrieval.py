from __future__ import annotations

import pytest

from foundation.errors import UserInputError
from kg.retrieval import count_linked, gather_knowledge


def test_orders_by_frequency_and_filters_diseases(tiny_kg):
    out = gather_knowledge(tiny_kg, {"E87.6": 1, "HP:0000822": 5, "I10": 3, "N18.9": 3})
    # the phenotype node is dropped (diseases only); ties keep first-seen order
    assert [k.node_id for k in out] == ["I10", "N18.9", "E87.6"]
    assert out[0].count == 3 and out[0].document == ""  # no definition or description: no document
    assert out[2].document.startswith("[disease name]Hypokalemia [definition]Low blood potassium.")
    assert out[2].triples == ("(Hypokalemia, is a, Chronic kidney disease)",)


def test_limits_and_reproducible_sampling(tiny_kg):
    a = gather_knowledge(tiny_kg, ["I10", "I10", "E87.6"], max_nodes=1, max_triples=2, seed=7)
    b = gather_knowledge(tiny_kg, ["I10", "I10", "E87.6"], max_nodes=1, max_triples=2, seed=7)
    assert len(a) == 1 and a == b and len(a[0].triples) == 2
    assert set(a[0].triples) <= set(tiny_kg.triples("I10"))
    everything = gather_knowledge(tiny_kg, ["HP:0000822", "DB00999"], node_types=None)
    assert {k.node_id for k in everything} == {"HP:0000822", "DB00999"}
    assert everything[0].as_dict()["triples"] == list(everything[0].triples)


def test_accepts_linker_records_and_rejects_unknown_ids(tiny_kg):
    recs = [{"node_id": "N18.9"}, {"node_id": None}, {"node_id": "N18.9"}]
    assert count_linked(recs) == {"N18.9": 2}
    with pytest.raises(UserInputError, match="not in 'tiny'"):
        gather_knowledge(tiny_kg, ["X:1"])

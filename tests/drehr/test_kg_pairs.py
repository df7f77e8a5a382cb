"""Knowledge-alignment pairs (drehr.data.kg_pairs): hand-checked pairs on a tiny KG, a held-out share of
concepts that never leaks into training, excluded vocabulary and nodes, the files and a tiny training run.
The `emerge retriever build-kg-pairs` command is tested in tests/emerge/cli/test_kg_pairs_cli.py."""

from __future__ import annotations

import json

import pytest

from drehr.data import (
    KGPairs,
    KGPairsConfig,
    TrainingExample,
    concept_label,
    holdout_path,
    icd10_benchmark_exclusions,
    read_examples,
    read_holdout,
    write_kg_pairs,
)
from drehr.data.kg_pairs import concept_groups, is_held_out
from drehr.training import concept_labels
from foundation.errors import UserInputError
from foundation.terms import normalize_term
from tests.helpers.kg import Node, make_kg

NOTHING_HELD_OUT = 1e-9  # (0, 1) is required; no group of these graphs hashes under it


def pairs_kg():
    """Hypertension as an HPO term and the ICD code it is the same as, two more diseases, a disease without
    synonyms, and an abbreviation (PE) shared by two unrelated concepts."""
    nodes = [
        Node(
            "HP:1",
            "Hypertension",
            "effect/phenotype",
            "HPO",
            ("High blood pressure", "Arterial hypertension"),
        ),
        Node("I10", "Essential (primary) hypertension", synonyms=("HTN", "hypertension")),
        Node("E87.6", "Hypokalemia", synonyms=("low potassium", "Hypopotassemia")),
        Node("N18.9", "Chronic kidney disease", synonyms=("CKD", "chronic renal disease")),
        Node("E11.9", "Type 2 diabetes mellitus"),
        Node("J90", "Pleural effusion", synonyms=("PE",)),
        Node("I26.99", "Pulmonary embolism", synonyms=("PE",)),
    ]
    edges = [
        ("HP:1", "I10", "same_as", "same as"),
        ("I10", "HP:1", "same_as", "same as"),
        ("E87.6", "N18.9", "is_a", "is a"),
    ]
    return make_kg(nodes, edges)


def grid_kg(n: int = 300):
    """`n` concepts with two synonyms each; every tenth one has an ICD twin joined by same_as."""
    nodes, edges = [], []
    for i in range(n):
        nodes.append(Node(f"C{i:03d}", f"concept {i}", synonyms=(f"alias {i} one", f"alias {i} two")))
        if i % 10 == 0:
            nodes.append(Node(f"T{i:03d}", f"twin of concept {i}", synonyms=(f"twin alias {i}",)))
            edges += [
                (f"C{i:03d}", f"T{i:03d}", "same_as", "same as"),
                (f"T{i:03d}", f"C{i:03d}", "same_as", "same as"),
            ]
    return make_kg(nodes, edges)


def _rows(examples: list[TrainingExample]) -> dict[str, tuple[str, ...]]:
    return {ex.anchor: ex.positives for ex in examples}


def test_pairs_on_a_tiny_kg_are_the_hand_checked_ones():
    pairs = KGPairs(pairs_kg(), KGPairsConfig(holdout=NOTHING_HELD_OUT))
    examples = list(pairs.examples())
    eph = "Essential (primary) hypertension"
    assert _rows(examples) == {
        "High blood pressure": ("Hypertension", eph),  # own name first, then the same_as name
        "Arterial hypertension": ("Hypertension", eph),
        "HTN": (eph, "Hypertension"),
        "hypertension": (eph,),  # "Hypertension" would be the anchor itself
        "low potassium": ("Hypokalemia",),
        "Hypopotassemia": ("Hypokalemia",),
        "CKD": ("Chronic kidney disease",),
        "chronic renal disease": ("Chronic kidney disease",),
        "PE": ("Pleural effusion", "Pulmonary embolism"),  # one anchor, both concepts: neither a negative
    }
    by_anchor = {ex.anchor: ex for ex in examples}
    hypertension = concept_label("HP:1")  # the group is named by its smallest node id
    assert by_anchor["HTN"].labels == (hypertension, hypertension)
    assert by_anchor["PE"].labels == (concept_label("J90"), concept_label("I26.99"))
    assert [ex.id for ex in examples][:4] == ["HP:1#0", "HP:1#1", "I10#0", "I10#1"]
    assert pairs.counts["examples"] == 9 and pairs.counts["held_out_groups"] == 0
    # the training data module reads them as they are: a same_as name is the same concept
    ids = concept_labels(examples)
    assert ids[0][0] == ids[0][1] == ids[2][0]


def test_same_as_off_and_the_reverse_direction():
    kg = pairs_kg()
    plain = _rows(list(KGPairs(kg, KGPairsConfig(holdout=NOTHING_HELD_OUT, same_as=False)).examples()))
    assert plain["HTN"] == ("Essential (primary) hypertension",)
    both = _rows(list(KGPairs(kg, KGPairsConfig(holdout=NOTHING_HELD_OUT, reverse=True)).examples()))
    assert both["Hypokalemia"] == ("low potassium", "Hypopotassemia")
    assert both["Chronic kidney disease"] == ("CKD", "chronic renal disease")
    assert "Type 2 diabetes mellitus" not in both  # no synonym: nothing to pair its name with
    assert both["low potassium"] == ("Hypokalemia",)  # the synonym -> name direction is kept


@pytest.mark.parametrize("share", [0.0, 1.0, -0.2, 1.5])
def test_holdout_outside_zero_one_is_refused(share):
    with pytest.raises(UserInputError, match=r"holdout .* outside \(0, 1\).*--holdout 0.2"):
        KGPairsConfig(holdout=share)


def test_groups_join_same_as_nodes_under_their_smallest_id():
    groups = concept_groups(pairs_kg())
    assert groups["I10"] == groups["HP:1"] == "HP:1"
    assert groups["E87.6"] == "E87.6"  # is_a does not join concepts


def test_holdout_is_deterministic_disjoint_by_concept_and_never_leaks_into_training():
    kg = grid_kg()
    config = KGPairsConfig(holdout=0.3, seed=0)
    pairs = KGPairs(kg, config)
    examples, queries = list(pairs.examples()), list(pairs.holdout_queries())
    groups = concept_groups(kg)
    held = {g for g in set(groups.values()) if is_held_out(g, 0, 0.3)}
    assert pairs.held_out == held and 0.15 < len(held) / len(set(groups.values())) < 0.45
    # same_as twins go together
    for i in range(0, 300, 10):
        assert (groups[f"C{i:03d}"] in held) == (groups[f"T{i:03d}"] in held)
    # no term of a held-out concept anywhere in training, and no training concept among the queries
    held_terms = {
        normalize_term(t)
        for row in kg.nodes.iter_rows(named=True)
        if groups[row["id"]] in held
        for t in (row["name"], *row["synonyms"])
    }
    seen = {normalize_term(t) for ex in examples for t in (ex.anchor, *ex.positives)}
    assert held_terms and not held_terms & seen
    assert {normalize_term(q.query) for q in queries} <= held_terms
    assert all(groups[g] in held for q in queries for g in q.gold)
    trained = {ex.id.split("#")[0] for ex in examples}
    assert not {groups[n] for n in trained} & held
    # every held-out synonym is a query, with its own node (and its twin) as gold
    assert len(queries) == sum(2 if i % 10 else 3 for i in range(300) if groups[f"C{i:03d}"] in held)
    by_query = {q.query: q.gold for q in queries}
    i = next(i for i in range(0, 300, 10) if groups[f"C{i:03d}"] in held)
    assert by_query[f"alias {i} one"] == (f"C{i:03d}", f"T{i:03d}")
    # deterministic; another seed holds out other concepts
    again = KGPairs(kg, config)
    assert [e.to_json() for e in again.examples()] == [e.to_json() for e in examples]
    assert KGPairs(kg, KGPairsConfig(holdout=0.3, seed=1)).held_out != held


def test_a_held_out_synonym_shared_with_a_training_concept_is_withheld_from_both():
    kg = pairs_kg()
    pe_groups = {"J90", "I26.99"}
    seed = next(s for s in range(200) if is_held_out("J90", s, 0.5) and not is_held_out("I26.99", s, 0.5))
    pairs = KGPairs(kg, KGPairsConfig(holdout=0.5, seed=seed))
    assert "J90" in pairs.held_out and "I26.99" not in pairs.held_out
    examples = list(pairs.examples())
    assert all(normalize_term(t) != "pe" for ex in examples for t in (ex.anchor, *ex.positives))
    pe = [q for q in pairs.holdout_queries() if q.query == "PE"]
    assert len(pe) == 1 and set(pe[0].gold) == pe_groups  # either concept is a right answer


def test_query_equal_to_a_preferred_name_is_left_out():
    kg = make_kg(
        [
            Node("A", "Anemia", synonyms=("Low hemoglobin",)),
            Node("B", "Iron deficiency anemia", synonyms=("anemia", "sideropenic anemia")),
        ],
        [],
    )
    seed = next(s for s in range(200) if is_held_out("B", s, 0.5) and not is_held_out("A", s, 0.5))
    pairs = KGPairs(kg, KGPairsConfig(holdout=0.5, seed=seed))
    assert [q.query for q in pairs.holdout_queries()] == ["sideropenic anemia"]
    assert pairs.counts["holdout_exact_names"] == 1  # "anemia": an exact lookup finds node A's name
    # and "Anemia", a term of the held-out concept B, is kept out of A's training pairs too
    assert [ex.positives for ex in pairs.examples()] == []
    assert pairs.counts["positive_withheld"] == 1 and pairs.counts["anchors_without_positive"] == 1


def test_excluded_vocabulary_never_appears_in_training():
    generator_words = ["HTN", "high blood pressure", "Hypokalemia", "PE"]
    pairs = KGPairs(pairs_kg(), KGPairsConfig(holdout=NOTHING_HELD_OUT), exclude_terms=generator_words)
    rows = _rows(list(pairs.examples()))
    banned = {normalize_term(w) for w in generator_words}
    assert not banned & {normalize_term(t) for a, ps in rows.items() for t in (a, *ps)}
    assert "low potassium" not in rows  # its only positive (Hypokalemia) is excluded
    assert rows["Arterial hypertension"] == ("Hypertension", "Essential (primary) hypertension")
    assert pairs.counts["anchor_excluded"] == 4 and pairs.counts["anchors_without_positive"] == 2


def test_excluded_nodes_take_no_part():
    pairs = KGPairs(pairs_kg(), KGPairsConfig(holdout=NOTHING_HELD_OUT), exclude_nodes=["I10", "absent"])
    rows = _rows(list(pairs.examples()))
    assert pairs.excluded_groups == {"HP:1"}  # I10 takes its same_as group with it
    assert not {"HTN", "High blood pressure", "Arterial hypertension", "hypertension"} & set(rows)
    assert list(pairs.holdout_queries()) == []


def test_icd10_benchmark_exclusions_are_the_benchmarks_codes_and_texts():
    from drehr.evaluation.icd10 import inclusion_term_queries

    codes, terms = icd10_benchmark_exclusions(3, seed=0)
    queries, descriptions = inclusion_term_queries(3, 0)
    assert codes == {
        f"{c[:3]}.{c[3:]}" if len(c) > 3 else c for c in descriptions
    }  # dotted, as the starter KG
    assert {q.text for q in queries} | set(descriptions.values()) == terms


def test_files_round_trip_and_refuse_a_foreign_file(tmp_path):
    out = tmp_path / "pairs.jsonl"
    counts = write_kg_pairs(pairs_kg(), out, KGPairsConfig(holdout=0.5, seed=3))
    examples = list(read_examples(out))
    queries = read_holdout(holdout_path(out))
    assert holdout_path(out).name == "pairs.holdout.jsonl"
    assert counts["examples"] == len(examples) and counts["holdout_queries"] == len(queries)
    assert examples == list(KGPairs(pairs_kg(), KGPairsConfig(holdout=0.5, seed=3)).examples())
    write_kg_pairs(pairs_kg(), out, KGPairsConfig(holdout=0.5, seed=3))  # ours: rewritten
    mine = tmp_path / "mine.jsonl"
    mine.write_text("my notes\n")
    with pytest.raises(UserInputError, match="was not written by emerge"):
        write_kg_pairs(pairs_kg(), mine, KGPairsConfig())
    assert mine.read_text() == "my notes\n"


def test_read_holdout_names_a_missing_file_and_a_bad_line(tmp_path):
    with pytest.raises(UserInputError, match="build-kg-pairs"):
        read_holdout(tmp_path / "absent.holdout.jsonl")
    bad = tmp_path / "bad.holdout.jsonl"
    bad.write_text(json.dumps({"query": "HTN", "gold": ["I10"]}) + "\n" + json.dumps({"query": "x"}) + "\n")
    with pytest.raises(UserInputError, match=r"bad.holdout.jsonl:2"):
        read_holdout(bad)


def test_a_graph_without_usable_synonyms_is_an_error(tmp_path):
    kg = make_kg([Node("A", "Anemia"), Node("B", "Sepsis")], [])
    with pytest.raises(UserInputError, match="no training pair"):
        write_kg_pairs(kg, tmp_path / "pairs.jsonl", KGPairsConfig())


def test_a_model_trained_on_the_pairs_links_mentions(tiny_bert_dir, tmp_path):
    from drehr.model import load_sentence_encoder
    from drehr.training import TrainConfig, train_retriever
    from kg.linking import EntityLinker

    kg = pairs_kg()
    out = tmp_path / "pairs.jsonl"
    write_kg_pairs(kg, out, KGPairsConfig(holdout=NOTHING_HELD_OUT))
    config = TrainConfig(
        base_model=str(tiny_bert_dir),
        pooling="mean",
        anchor_side="query",
        query_max_length=8,
        passage_max_length=8,
        anchors_per_batch=4,
        positives_per_anchor=1,
        epochs=1,
        accelerator="cpu",
        devices=1,
    )
    model_dir = train_retriever(config, out, tmp_path / "run")
    encoder = load_sentence_encoder(model_dir, device="cpu")
    linker = EntityLinker(kg, lambda texts: encoder.encode(list(texts)), threshold=-1.0)
    (record,) = linker.link(["kidney disease chronic"])
    assert record["node_id"] in kg

from dataclasses import dataclass

from drehr.chunking import Chunk
from drehr.data.examples import concept_label
from drehr.data.stage1 import Stage1Config, build_stage1_examples, parse_abbreviations


@dataclass
class Span:
    node_ids: tuple[str, ...]
    surface: str


class TinyKG:
    """HTN is_a cardiovascular disease; related to stroke. Names/synonyms by hand."""

    names = {
        "I10": "hypertension",
        "CVD": "cardiovascular disease",
        "I63": "stroke",
        "N17": "acute kidney injury",
    }
    syn = {
        "I10": ["high blood pressure", "htn", "essential hypertension"],
        "CVD": ["heart disease"],
        "I63": ["cva", "cerebral infarction"],
        "N17": ["aki", "acute renal failure"],
    }
    parents = {"I10": ["CVD"]}
    rel = {"I10": ["I63"]}

    def name(self, n):
        return self.names[n]

    def synonyms(self, n):
        return self.syn.get(n, [])

    def hypernyms(self, n):
        return self.parents.get(n, [])

    def related(self, n):
        return self.rel.get(n, [])

    def lookup(self, term):
        return [n for n in self.names if term == self.names[n] or term in self.syn.get(n, [])]


def match(text):
    spans = []
    for surface in ("hypertension", "acute kidney injury"):
        if surface in text:
            spans.append(Span(tuple(TinyKG().lookup(surface)), surface))
    return spans


def test_stage1_expands_synonyms_hypernyms_related_with_concept_labels():
    chunks = [
        Chunk("n1_0", "n1", "p1", 0, "History of hypertension, admitted for chest pain."),
        Chunk("n1_1", "n1", "p1", 1, "No relevant findings today."),
    ]
    stats = {}
    (ex,) = list(build_stage1_examples(chunks, TinyKG(), match, Stage1Config(seed=3), stats=stats))
    pos = dict(zip(ex.positives, ex.labels, strict=True))
    assert pos["hypertension"] == concept_label("I10")
    synonyms = [p for p in pos if p in TinyKG.syn["I10"]]
    assert len(synonyms) == 2 and all(pos[s] == concept_label("I10") for s in synonyms)
    assert {p for p in pos if pos[p] == concept_label("CVD")} == {"cardiovascular disease", "heart disease"}
    assert len([p for p in pos if pos[p] == concept_label("I63")]) == 2
    assert stats["chunks"] == 2 and stats["with_concepts"] == 1 and stats["without_concepts"] == 1
    again = list(build_stage1_examples(chunks, TinyKG(), match, Stage1Config(seed=3)))
    assert again[0] == ex  # seeded per chunk: reruns are identical


def test_abbreviation_expansion_kept_only_when_standalone_and_in_kg():
    chunk = Chunk("n2_0", "n2", "p2", 0, "Pt with AKI on CKD; HTNx noted. Also XYZ.")

    def llm(prompts):
        assert len(prompts) == 1 and chunk.text in prompts[0]
        return ["- AKI: acute kidney injury\n- HTN: hypertension\n- XYZ: not a kg term"]

    stats = {}
    (ex,) = list(
        build_stage1_examples([chunk], TinyKG(), lambda t: [], expand_abbreviations=llm, stats=stats)
    )
    assert ex.positives[0] == "AKI" and ex.labels[0] == concept_label("N17")
    assert concept_label("I10") not in ex.labels  # HTN does not stand alone ("HTNx")
    assert stats["abbreviations_kept"] == 1 and stats["abbreviations_rejected"] == 2


def test_parse_abbreviations():
    assert parse_abbreviations("1. CHF - congestive heart failure (CHF)\nNA\nHTN: hypertension.") == [
        ("CHF", "congestive heart failure"),
        ("HTN", "hypertension"),
    ]

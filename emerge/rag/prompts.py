"""The summary prompt, after EMERGE's, specialised per task, kept inside the LLM's context window.

Not EMERGE's text verbatim. EMERGE's released template (yhzhu99/EMERGE rag/rag.py, lines 16-25,
commit c3a64a3) opens "As an experienced clinical professor, you have been provided with a list of
diseases a patient is suffering from, alongside related documents and knowledge graph triples ...",
asks for a brief summary "within 2048 tokens" helpful for in-hospital mortality and 30-day
readmission prediction, and has three sections: [Diseases], [Documents], [Related knowledge graph
triples]. Ours keeps that opening and request, names the outcome of the task it is written for, and
has the four sections the EMERGE paper describes: potential abnormal features (the time-series
entities, which the released template has no section for); potential diseases; definitions and
descriptions; disease relationships (KG triples). When the retriever found the diseases in the
patient's own notes (`entity_mode: retriever`), a fifth section quotes the best evidence snippets
per disease ("Evidence from the patient's notes"), and the instruction lists it; without evidence
the prompt is exactly the four-section one. When the prompt is too long for the model, knowledge is
trimmed in this stated order until it fits: (0) evidence snippets, last disease first, each cut to
25 words before any is dropped; (1) triples, last disease first; (2) definition documents, cut to 60
words then dropped, last disease first; (3) diseases, least frequent first; (4) abnormal features,
least frequent first. The instruction is never trimmed. What was trimmed is returned with the prompt,
so it is recorded with the summary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from emerge.tasks import GENERIC, get_task
from foundation.errors import UserInputError

__all__ = ["DiseaseKnowledge", "SummaryPrompt", "build_summary_prompt", "summary_goal", "summary_template_id"]

_GENERIC_GOAL = (
    "healthcare prediction tasks such as in-hospital mortality prediction and 30-day readmission prediction"
)


def summary_goal(task: str) -> str:
    """What the summary should be informative for: the task's own `summary_goal`, or both of EMERGE's
    outcomes for "generic"."""
    return _GENERIC_GOAL if task == GENERIC else get_task(task).summary_goal


_INSTRUCTION = (
    "As an experienced clinical professor, you have been provided with the following information to "
    "assist in summarizing a patient's health status:\n"
    "- Potential abnormal features exhibited by the patient\n"
    "- Possible diseases the patient may be suffering from\n"
    "- Definitions and descriptions of the corresponding diseases\n"
    "- Knowledge graph triples specific to these diseases\n"
    "{evidence}"
    "Using this information, write a concise and clear summary of the patient's health status that is "
    "informative for {goal}. Give the summary directly, without any additional explanation."
)

_EVIDENCE_LINE = "- Excerpts of the patient's own notes where these diseases were found\n"
_SHORT_DOC_WORDS = 60
_SHORT_EVIDENCE_WORDS = 25


@dataclass(frozen=True)
class DiseaseKnowledge:
    """What the KG says about one linked disease (its definition document and sampled triples), and
    `evidence`: snippets of the patient's own notes where the retriever found it, best first."""

    name: str
    document: str = ""
    triples: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class SummaryPrompt:
    text: str
    tokens: int | None
    trimmed: dict[str, int] = field(default_factory=dict)
    fits: bool = True


def _render(
    task: str, features: Sequence[str], diseases: Sequence[str], knowledge: Sequence[DiseaseKnowledge]
) -> str:
    docs = [k.document for k in knowledge if k.document]
    triples = [t for k in knowledge for t in k.triples]
    evidence = [f'{k.name}: "{e}"' for k in knowledge for e in k.evidence]
    has_evidence = any(k.evidence for k in knowledge)  # even when trimmed away: the template stays
    parts = [
        _INSTRUCTION.format(goal=summary_goal(task), evidence=_EVIDENCE_LINE if has_evidence else ""),
        "Potential abnormal features:\n" + (", ".join(features) if features else "none recorded"),
        "Potential diseases:\n" + (", ".join(diseases) if diseases else "none recorded"),
        "Diseases definition and description:\n" + ("\n".join(docs) if docs else "none available"),
        "Disease relationships:\n" + (",\n".join(triples) if triples else "none available"),
    ]
    if has_evidence:
        parts.append(
            "Evidence from the patient's notes:\n" + ("\n".join(evidence) if evidence else "trimmed")
        )
    return "\n\n".join(parts)


def build_summary_prompt(
    task: str,
    features: Sequence[str],
    diseases: Sequence[str],
    knowledge: Sequence[DiseaseKnowledge],
    count_tokens: Callable[[str], int] | None = None,
    max_tokens: int | None = None,
) -> SummaryPrompt:
    """The summary prompt for one stay, trimmed to `max_tokens` (as counted by `count_tokens`)."""
    summary_goal(task)  # an unknown task is an error naming the registered ones
    if (max_tokens is None) != (count_tokens is None):
        raise UserInputError("give both count_tokens and max_tokens to trim the prompt, or neither")
    features, diseases, knowledge = list(features), list(diseases), list(knowledge)
    trimmed = {
        "evidence_shortened": 0,
        "evidence": 0,
        "triples": 0,
        "documents_shortened": 0,
        "documents": 0,
        "diseases": 0,
        "features": 0,
    }
    text = _render(task, features, diseases, knowledge)
    if count_tokens is None:
        return SummaryPrompt(text, None, trimmed)

    def fits() -> bool:
        nonlocal text
        text = _render(task, features, diseases, knowledge)
        return count_tokens(text) <= max_tokens

    # (0) evidence snippets: shorten each, then drop one at a time; last disease, last snippet first
    for i in reversed(range(len(knowledge))):
        k = knowledge[i]
        for j in reversed(range(len(k.evidence))):
            words = k.evidence[j].split()
            if len(words) > _SHORT_EVIDENCE_WORDS and not fits():
                short = " ".join(words[:_SHORT_EVIDENCE_WORDS]) + " ..."
                k = knowledge[i] = replace(k, evidence=(*k.evidence[:j], short, *k.evidence[j + 1 :]))
                trimmed["evidence_shortened"] += 1
    for i in reversed(range(len(knowledge))):
        while knowledge[i].evidence and not fits():
            knowledge[i] = replace(knowledge[i], evidence=knowledge[i].evidence[:-1])
            trimmed["evidence"] += 1
    # (1) triples, last disease first, one at a time
    for i in reversed(range(len(knowledge))):
        while knowledge[i].triples and not fits():
            knowledge[i] = replace(knowledge[i], triples=knowledge[i].triples[:-1])
            trimmed["triples"] += 1
    # (2) definition documents: shorten, then drop, last disease first
    for i in reversed(range(len(knowledge))):
        words = knowledge[i].document.split()
        if len(words) > _SHORT_DOC_WORDS and not fits():
            knowledge[i] = replace(
                knowledge[i], document=" ".join(words[:_SHORT_DOC_WORDS]) + " ...", triples=()
            )
            trimmed["documents_shortened"] += 1
    for i in reversed(range(len(knowledge))):
        if knowledge[i].document and not fits():
            knowledge[i] = replace(knowledge[i], document="", triples=())
            trimmed["documents"] += 1
    # (3) diseases, (4) features: least frequent (last) first
    for items, key in ((diseases, "diseases"), (features, "features")):
        while items and not fits():
            items.pop()
            trimmed[key] += 1
    ok = fits()
    return SummaryPrompt(text, count_tokens(text), trimmed, ok)


def summary_template_id() -> str:
    """A hash of how a summary prompt is written (instruction, sections, formatting), from a fixed probe:
    part of the summaries' cache key, so a change to the template never reuses old summaries."""
    from foundation.artifacts import stable_hash

    probe = build_summary_prompt(
        "generic", ["feature"], ["disease"], [DiseaseKnowledge("node", "doc", ("t",))]
    )
    with_evidence = build_summary_prompt(
        "generic", ["feature"], ["disease"], [DiseaseKnowledge("node", "doc", ("t",), ("snippet",))]
    )
    return stable_hash(probe.text, with_evidence.text)

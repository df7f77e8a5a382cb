"""Entity-list parsing and the retry loop of generate_entities, on scripted fake backends."""

from __future__ import annotations

import pytest

from emerge.llm import LLMCache, SamplingConfig, StructuredOutputError, generate_entities, parse_entities
from emerge.llm.structured import RETRY_REMINDER, retry_sampling
from tests.helpers.fakes import FakeBackend

S = SamplingConfig(max_new_tokens=20)


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"entities": ["sepsis", "acute kidney injury"]}', ["sepsis", "acute kidney injury"]),
        ('```json\n{"entities": ["sepsis"]}\n```', ["sepsis"]),
        ('```\n{"entities": [" pneumonia "]}\n```', ["pneumonia"]),
        ('Sure! Here you go: {"entities": ["copd", "asthma"]} Hope this helps.', ["copd", "asthma"]),
        ('Answer:\n```json\n{"entities": []}\n```\nNo diseases found.', []),
        ('["heart failure", "stroke"]', ["heart failure", "stroke"]),
        # The first JSON object is not an entity list; the embedded one is.
        ('{"note": 1} then {"entities": ["anemia"]}', ["anemia"]),
    ],
)
def test_parse_entities_accepts(text, expected):
    assert parse_entities(text) == expected


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "empty output"),
        ("   \n ", "empty output"),
        ("I cannot find any diseases.", "no JSON"),
        ('{"diseases": ["sepsis"]}', "without an 'entities' key"),
        ('{"entities": "sepsis"}', "is a str"),
        ('{"entities": ["sepsis", ""]}', r"entities\[1\] is an empty string"),
        ('{"entities": [{"name": "sepsis"}]}', r"entities\[0\] is a dict"),
        ('```json\n{"entities": ["sepsis", "pneumo', "no JSON"),  # cut mid-answer
        ("{" * 5000, "no JSON"),  # endless garbage
    ],
)
def test_parse_entities_rejects_with_reason(text, reason):
    with pytest.raises(StructuredOutputError, match=reason):
        parse_entities(text)


def test_retry_sampling_changes_seed_and_heats_greedy():
    assert retry_sampling(S, 0, 0.7) is S
    r2 = retry_sampling(S, 2, 0.7)
    assert (r2.seed, r2.temperature, r2.max_new_tokens) == (2, 0.7, 20)
    warm = S.model_copy(update={"temperature": 0.3, "seed": 10})
    assert (retry_sampling(warm, 1, 0.7).temperature, retry_sampling(warm, 1, 0.7).seed) == (0.3, 11)


def _scripted(answers: dict[str, list[str]]) -> FakeBackend:
    """Prompt (without the retry reminder) -> answer per attempt; the attempt is the sampling seed."""

    def reply(text: str, sampling: SamplingConfig) -> str:
        base = text.split("\n\n" + RETRY_REMINDER)[0]
        if sampling.seed > 0:
            assert text.endswith(RETRY_REMINDER) and sampling.temperature > 0
        script = answers[base]
        return script[min(sampling.seed, len(script) - 1)]

    return FakeBackend(reply=reply)


def test_generate_entities_retries_only_failures_and_records_attempts(tmp_path):
    backend = _scripted(
        {
            "good": ['{"entities": ["sepsis"]}'],
            "second": ["garbage", '```json\n{"entities": ["copd"]}\n```'],
            "never": ["no", "", "still no", "{"],
            "late": ["x", "y", "z", '{"entities": ["stroke"]}'],
        }
    )
    prompts = ["good", "second", "never", "late"]
    with LLMCache(tmp_path / "c.sqlite") as cache:
        results = generate_entities(backend, prompts, S, cache=cache, progress=False)
    good, second, never, late = results
    assert (good.status, good.entities, good.used_attempt, len(good.attempts)) == (
        "parsed",
        ("sepsis",),
        0,
        1,
    )
    assert (second.entities, second.used_attempt) == (("copd",), 1)
    assert second.attempts[0].error == "no JSON object or array found" and second.attempts[1].error is None
    assert second.used_output.startswith("```json")
    assert (never.status, never.entities, never.used_attempt, never.used_output) == ("failed", (), None, None)
    assert [a.output for a in never.attempts] == ["no", "", "still no", "{"]  # 1 + 3 retries, then stop
    assert never.attempts[1].error == "empty output"
    assert (late.entities, late.used_attempt) == (("stroke",), 3)
    # Each round asked only the prompts still failing: 4 + 3 + 2 + 2 generations.
    assert len(backend.calls) == 11
    assert late.to_dict()["attempts"][3] == {"output": '{"entities": ["stroke"]}', "error": None}


def test_generate_entities_rerun_is_served_from_cache(tmp_path):
    answers = {"p": ["bad", '{"entities": ["asthma"]}']}
    with LLMCache(tmp_path / "c.sqlite") as cache:
        first = generate_entities(_scripted(answers), ["p"], S, cache=cache, progress=False)
        backend = _scripted(answers)
        again = generate_entities(backend, ["p"], S, cache=cache, progress=False)
    assert again == first and backend.calls == []


def test_endless_output_is_flagged_not_raised():
    endless = " ".join(["{entities"] * 20)  # 20 "tokens" = max_new_tokens: the answer was cut
    backend = FakeBackend(reply=lambda text, s: endless)
    (result,) = generate_entities(backend, ["p"], S, max_retries=1, progress=False)
    assert result.status == "failed" and len(result.attempts) == 2
    assert all("cut at max_new_tokens=20" in a.error for a in result.attempts)


def test_generate_entities_rejects_bad_settings():
    from foundation.errors import UserInputError

    with pytest.raises(UserInputError, match="max_retries"):
        generate_entities(FakeBackend(), ["p"], S, max_retries=-1)
    with pytest.raises(UserInputError, match="retry_temperature"):
        generate_entities(FakeBackend(), ["p"], S, retry_temperature=0)

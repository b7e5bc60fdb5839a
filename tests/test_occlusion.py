"""Reasons by occlusion: the words a hostile message's score rests on, found by leaving each out.
The model tests use the shipped models on messages written for these tests (none of them occurs in
the training or dev data)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nlp.classify.occlusion import occlusion_terms
from nlp.classify.reasons import explain_mode
from nlp.classify.words import candidates
from nlp.io import Message
from nlp.pipeline import Pipeline
from nlp.text import analyze_many


def test_candidates_are_content_words_and_their_adjacent_pairs() -> None:
    found = candidates("你算老几，轮得到你说话？")
    assert "老几" in found
    assert "你" not in found and "，" not in found  # a stopword, punctuation
    assert "轮得到" in found  # two content words side by side: one candidate too
    assert "得到说话" not in found  # not side by side (``你`` between them)
    pairs = candidates("装什么大佬，一个穷逼而已")
    assert "穷逼" in pairs or {"穷", "逼"} <= set(pairs)
    assert len(candidates("。".join(["今天天气不错我们去公园散步"] * 10), most=5)) == 5


def test_occlusion_terms_come_from_the_scorer_and_are_placed_in_the_message() -> None:
    """A scorer that only reacts to one word: that word is the evidence, at its place as sent."""
    texts = ["大家好，你这个废物别说了", "今天跑了十公里"]

    def score(batch: list[str]) -> np.ndarray:
        return np.array([0.9 if "废物" in text else 0.1 for text in batch])

    terms = occlusion_terms(analyze_many(texts), score)
    assert terms[0] == [("废物", texts[0].index("废物") + 1)]
    assert terms[1] == []  # nothing lowers the score: nothing to quote


def test_explain_auto_is_words_with_an_encoder_and_grams_without() -> None:
    assert explain_mode("auto", has_encoder=True) == "words"
    assert explain_mode("auto", has_encoder=False) == "grams"
    assert explain_mode("occlusion", has_encoder=False) == "occlusion"
    with pytest.raises(ValueError, match="choose one of auto, grams, words, occlusion"):
        explain_mode("shap", has_encoder=True)


@pytest.fixture(scope="session", params=["default", "encoder-free"])
def pipelines(request, onnx_encoder) -> tuple[Pipeline, Pipeline]:
    from nlp.classify.model_files import DEFAULT_MODEL_DIR

    encoder = onnx_encoder if request.param == "default" else None
    grams = Pipeline(DEFAULT_MODEL_DIR.parent / request.param, encoder=encoder, learn_groups=False, explain="grams")
    occlusion = Pipeline(grams.classifier, learn_groups=False, explain="occlusion")
    return grams, occlusion


# (by the weights, the full model's reasons for the first quote 真是 and 不懂)
HOSTILE = [
    ("真是个蠢货，说了三遍还不懂", "蠢货"),
    ("垃圾东西，赶紧滚出我们群", "垃圾"),
    ("什么垃圾玩意儿，赶紧滚", "垃圾"),
]


def test_occlusion_quotes_the_insult_and_changes_nothing_else(pipelines: tuple[Pipeline, Pipeline]) -> None:
    weights, occlusion = pipelines
    messages = [Message(text=text, id=str(i)) for i, (text, _) in enumerate(HOSTILE)]
    plain, explained = weights.score(messages), occlusion.score(messages)
    for (text, insult), before, after in zip(HOSTILE, plain, explained, strict=True):
        assert "negativity" in after.labels, after
        assert (after.labels, after.scores, after.suggestion) == (before.labels, before.scores, before.suggestion)
        quoted = re.findall(r"攻击性用语「(.+?)」，第(\d+)字", " ".join(after.reasons))
        assert quoted, after.reasons
        assert insult in quoted[0][0] or quoted[0][0] in insult, (text, quoted)
        for term, position in quoted:
            assert text[int(position) - 1 :].startswith(term), (term, position)
        # a bot's single message gets the same reasons as the batch
        assert occlusion.score_one(Message(text=text, id="x")).reasons == after.reasons

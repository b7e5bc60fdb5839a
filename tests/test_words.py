"""Words a reason quotes, weighed by the n-grams they touch (nlp.classify.words). The
model tests use the shipped models on messages written for these tests."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from nlp.classify.ngrams import NGRAM_FEATURES, gram_column
from nlp.classify.words import choose_apart, word_weights
from nlp.io import Message
from nlp.pipeline import Pipeline


def _brute_force(text: str, word: str, weights: np.ndarray) -> float:
    a = text.find(word)
    b = a + len(word)
    total = 0.0
    for n in (1, 2, 3):
        for i in range(len(text) - n + 1):
            gram = text[i : i + n]
            if i < b and i + n > a and all(ch.isalnum() for ch in gram):
                total += weights[gram_column(gram)]
    return total


def test_a_word_weighs_what_the_grams_touching_it_weigh() -> None:
    rng = np.random.default_rng(7)
    weights = rng.normal(size=NGRAM_FEATURES)
    chars = list("你这蠢货滚出去群里的人都是abc12，。！ ")
    for _ in range(200):
        text = "".join(random.Random(int(rng.integers(1 << 30))).choices(chars, k=int(rng.integers(1, 25))))
        words = list({text[i : i + n] for n in (1, 2, 3) for i in range(len(text) - n + 1)})
        got = word_weights(text, words, weights)
        assert got == pytest.approx([_brute_force(text, w, weights) for w in words]), text


def test_one_character_insult_weighs_through_its_unigram() -> None:
    weights = np.zeros(NGRAM_FEATURES)
    weights[gram_column("滚")] = 2.0
    weights[gram_column("就滚")] = 0.5  # a gram across two words counts for both
    assert word_weights("你就滚吧", ["你", "就", "滚", "吧"], weights) == [0.0, 0.5, 2.5, 0.0]


def test_a_word_also_weighs_what_its_sound_weighs() -> None:
    """A head that reads sounds learnt part of 傻逼 as how it sounds: a homophone spelling it never
    saw weighs that part, through the same gram of sounds."""
    from nlp.text.sounds import sound_text

    weights, sounds = np.zeros(NGRAM_FEATURES), np.zeros(NGRAM_FEATURES)
    sounds[gram_column(sound_text("傻逼"))] = 1.0
    assert word_weights("你是沙币吧", ["沙币", "你"], weights) == [0.0, 0.0]
    assert word_weights("你是沙币吧", ["沙币", "你"], weights, sounds) == [1.0, 0.0]


def test_choose_apart_takes_the_heaviest_above_the_minimum_never_twice_the_same_characters() -> None:
    text = "你算老几，轮得到你说话"
    words = ["老几", "说话", "算老几", "轮", "得到"]
    weights = [1.2, 0.3, 1.5, 0.1, 0.9]
    assert choose_apart(text, words, weights, k=2, minimum=0.25) == ["算老几", "得到"]  # 老几 lies inside 算老几
    assert choose_apart(text, words, weights, k=3, minimum=0.25) == ["算老几", "得到", "说话"]
    assert choose_apart(text, words, weights, k=1, minimum=0.25) == ["算老几"]
    assert choose_apart(text, words, [-w for w in weights], k=2, minimum=0.25) == []  # nothing weighs enough
    # pieces of one place that no string test would catch: 一帮舔 and 舔狗 share 舔
    assert choose_apart("一帮舔狗", ["舔狗", "一帮舔"], [2.0, 1.0], k=2, minimum=0.0) == ["舔狗"]


@pytest.fixture(scope="session", params=["default", "encoder-free"])
def words_pipeline(request, onnx_encoder) -> Pipeline:
    from nlp.classify.model_files import DEFAULT_MODEL_DIR

    encoder = onnx_encoder if request.param == "default" else None
    return Pipeline(DEFAULT_MODEL_DIR.parent / request.param, encoder=encoder, learn_groups=False, explain="words")


def test_words_name_the_insult_where_grams_named_filler(words_pipeline: Pipeline) -> None:
    """By the heaviest 2-3-grams the full model quoted 真是 and 不懂 here, not the insult."""
    text = "真是个蠢货，说了三遍还不懂"
    verdict = words_pipeline.score_one(Message(text=text, id="1"))
    assert "negativity" in verdict.labels, verdict
    quoted = re.findall(r"攻击性用语「(.+?)」，第(\d+)字", " ".join(verdict.reasons))
    assert "蠢货" in [term for term, _ in quoted], verdict.reasons
    for term, position in quoted:
        assert text[int(position) - 1 :].startswith(term)


def test_an_ad_without_contact_details_is_explained_by_its_offer(words_pipeline: Pipeline) -> None:
    """By the heaviest 2-3-grams both models quoted 各类 here (and 包过 or 价格), not the service.
    (The encoder-free head, with the weight of how words sound, puts 承接各类 before it: both name
    the offer.)"""
    text = "承接各类毕业论文代写，价格实惠，查重包过"
    verdict = words_pipeline.score_one(Message(text=text, id="1", group_topic="南山夜跑团：跑步训练、路线约跑"))
    assert "ad" in verdict.labels, verdict
    quoted = re.findall(r"广告用语「(.+?)」，第(\d+)字", " ".join(verdict.reasons))
    terms = [term for term, _ in quoted]
    assert any("代写" in term for term in terms) and "各类" not in terms, verdict.reasons
    for term, position in quoted:
        assert text[int(position) - 1 :].startswith(term)


def test_chatter_is_explained_by_what_it_is_about(words_pipeline: Pipeline) -> None:
    """By the heaviest 2-3-grams both models quoted 你们 and 了吗 here."""
    text = "昨晚的足球赛你们看了吗"
    verdict = words_pipeline.score_one(
        Message(text=text, id="1", group_topic="PPT设计学习群：排版、字体、配色与课程作业")
    )
    assert "offtopic" in verdict.labels, verdict
    quoted = [term for term in re.findall(r"闲聊用语「(.+?)」", " ".join(verdict.reasons))]
    assert "足球赛" in quoted and not {"你们", "了吗"} & set(quoted), verdict.reasons


def test_auto_explains_by_words_with_an_encoder_and_by_grams_without(onnx_encoder) -> None:
    from nlp.classify.model_files import DEFAULT_MODEL_DIR

    assert Pipeline(DEFAULT_MODEL_DIR, encoder=onnx_encoder).explain == "words"
    assert Pipeline(DEFAULT_MODEL_DIR.parent / "encoder-free", encoder=None).explain == "grams"

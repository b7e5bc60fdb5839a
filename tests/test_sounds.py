"""How a text sounds (nlp.text.sounds), and heads that read it, on homophone spellings."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nlp.classify import MessageClassifier
from nlp.classify.features import text_block
from nlp.io import Message
from nlp.text.sounds import sound_text, syllable_count
from nlp.train.datasets import load_labelled
from nlp.train.recipe import CHAT_TRAIN, offtopic_views


@pytest.mark.parametrize(("written", "meant"), [("沙币", "傻逼"), ("薇信", "微信"), ("木琴", "母亲"), ("尼玛", "你妈")])
def test_a_homophone_sounds_like_the_word_it_stands_for(written: str, meant: str) -> None:
    assert sound_text(written) == sound_text(meant)


def test_other_syllables_other_letters_and_digits_stay_apart() -> None:
    assert sound_text("傻") != sound_text("大")  # sha / da
    assert sound_text("加v abc_123，")[1:] == "v abc_123，"  # only Chinese characters are replaced
    assert sound_text("加")[0] != "加"
    assert 400 <= syllable_count() <= 420  # Mandarin's toneless syllables (with pypinyin's rare ones)


def _messages(texts: list[str]) -> list[Message]:
    return [Message(text=t, id=str(i)) for i, t in enumerate(texts)]


@pytest.fixture(scope="module")
def models() -> dict[str, MessageClassifier]:
    train = offtopic_views(load_labelled(CHAT_TRAIN))
    return {
        sounds: MessageClassifier(encoder=None, sound_labels=labels).fit(train.messages, train.y)
        for sounds, labels in (("plain", ()), ("heard", ("ad", "negativity")))
    }


def test_heads_that_read_sounds_hear_a_homophone_insult(models: dict[str, MessageClassifier]) -> None:
    """Written the way the training data writes it, and in homophones it never spells: the head
    that reads sounds scores the homophones closer to the spelling it learnt."""
    insults = ["你就是个傻逼", "你妈死了"]
    homophones = ["你就是个沙币", "尼玛死了"]
    neg = models["plain"].labels.index("negativity")
    plain = models["plain"].predict_proba(_messages(insults + homophones))[:, neg]
    heard = models["heard"].predict_proba(_messages(insults + homophones))[:, neg]
    assert (heard[2:] > plain[2:]).all(), (plain, heard)
    assert (np.abs(heard[:2] - heard[2:]) < np.abs(plain[:2] - plain[2:])).all(), (plain, heard)


def test_only_the_heads_named_read_sounds(models: dict[str, MessageClassifier]) -> None:
    model = models["heard"]
    assert model.reads_sounds() and model.reads_sounds("ad") and not model.reads_sounds("offtopic")
    assert not models["plain"].reads_sounds()
    messages = _messages(["周末一起去爬山吗", "收到"])
    off = model.labels.index("offtopic")
    # the off-topic heads saw the same columns: the same numbers
    assert np.allclose(model.predict_proba(messages)[:, off], models["plain"].predict_proba(messages)[:, off])


def test_a_text_stage_without_sounds_is_completed_by_the_model(models: dict[str, MessageClassifier]) -> None:
    model = models["heard"]
    messages = _messages(["加薇信 abc_123 领资料", "你是沙币吧"])
    own = model.predict_proba_features(model.complete(model.prepare(messages)))
    bare = model.predict_proba_features(model.complete(model.prepare(messages, text_stage=text_block)))
    assert np.array_equal(own, bare)


def test_features_without_the_sound_block_are_refused_by_name(models: dict[str, MessageClassifier]) -> None:
    """A hand-built Features whose sound block is missing must say so, not fail inside a product."""
    model = models["heard"]
    feats = model.complete(model.prepare(_messages(["加薇信 abc_123 领资料"])))
    with pytest.raises(ValueError, match="sound block"):
        model.predict_proba_features(dataclasses.replace(feats, sounds=None))

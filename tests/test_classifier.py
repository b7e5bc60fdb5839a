"""MessageClassifier's estimator contract, on a small encoder-free model trained from data/labelled."""

from __future__ import annotations

import copy
import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils import murmurhash3_32

from nlp.classify import LABELS, GroupProfile, MessageClassifier, load_group_profiles
from nlp.classify.features import SIGNAL_FEATURE_NAMES, is_acknowledgement, is_greeting, signal_matrix
from nlp.classify.model_files import load_classifier, read_manifest, save_classifier
from nlp.classify.ngrams import NGRAM_FEATURES, NGRAM_NORM_FLOOR, ngram_vectorizer
from nlp.classify.profile import relatedness
from nlp.classify.sparse_rows import SparseRows
from nlp.io import Message
from nlp.text import analyze, normalize
from nlp.text.code_points import CodePoints, char_test
from nlp.train.datasets import load_labelled
from nlp.train.recipe import CHAT_DEV, CHAT_TRAIN, offtopic_views

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_model() -> MessageClassifier:
    train = offtopic_views(load_labelled(CHAT_TRAIN))
    dev = load_labelled(CHAT_DEV)
    clf = MessageClassifier(encoder=None).fit(train.messages, train.y)
    return clf.tune_thresholds(clf.predict_proba(dev.messages), dev.y)


def test_fit_sets_only_trailing_underscore_state() -> None:
    clf = MessageClassifier(encoder=None, C=2.0)
    assert not [name for name in vars(clf) if name.endswith("_")]
    assert clf.C == 2.0


def test_predict_proba_shape_and_range(small_model: MessageClassifier) -> None:
    messages = [Message(text=t, id=str(i)) for i, t in enumerate(["收到", "加薇❤: abc_123 领红包", "你是不是傻"])]
    proba = small_model.predict_proba(messages)
    assert proba.shape == (3, len(LABELS))
    assert ((proba >= 0) & (proba <= 1)).all()
    assert proba[1, 0] > proba[0, 0]  # the obfuscated ad outranks an acknowledgement on the ad head


def test_unknown_labels_are_left_out_of_a_head() -> None:
    texts = ["加微信 abc_123 领资料", "今天天气不错", "你是不是傻", "收到"] * 5
    messages = [Message(text=t, id=str(i)) for i, t in enumerate(texts)]
    y = np.array([[1, -1, -1], [0, -1, -1], [0, 1, -1], [0, 0, -1]] * 5)
    with pytest.raises(ValueError, match="offtopic"):
        MessageClassifier(encoder=None, calibration_folds=2).fit(messages, y)
    y[:, 2] = [0, 1, 0, 0] * 5
    clf = MessageClassifier(encoder=None, calibration_folds=2).fit(messages, y)
    assert clf.n_train_["negativity"] == {"positive": 5, "negative": 5}  # rows without a verdict left out
    assert clf.n_train_["ad"] == {"positive": 5, "negative": 15}


def test_wrong_label_shape_is_rejected() -> None:
    with pytest.raises(ValueError, match="shape"):
        MessageClassifier(encoder=None).fit([Message(text="x", id="1")], np.zeros((1, 2)))


def test_thresholds_come_from_dev(small_model: MessageClassifier) -> None:
    for label in LABELS:
        assert 0.05 <= small_model.thresholds_[label] <= small_model.block_thresholds_[label] <= 0.95


def test_suggestion_from_two_thresholds(small_model: MessageClassifier) -> None:
    ad = LABELS.index("ad")
    scores = np.zeros(len(LABELS))
    assert small_model.suggestion(scores) == "pass"
    scores[ad] = small_model.thresholds_["ad"]
    assert small_model.suggestion(scores) in ("review", "block")
    scores[ad] = 0.999
    assert small_model.suggestion(scores) == "block"
    only_offtopic = np.zeros(len(LABELS))
    only_offtopic[LABELS.index("offtopic")] = 0.999
    assert small_model.suggestion(only_offtopic) == "review"  # chatter alone never blocks


def test_an_ad_or_an_insult_is_not_also_reported_as_chatter(small_model: MessageClassifier) -> None:
    scores = np.zeros(len(LABELS))
    scores[LABELS.index("offtopic")] = 0.99
    assert small_model.decide(scores) == ["offtopic"]
    for label in ("ad", "negativity"):
        both = scores.copy()
        both[LABELS.index(label)] = 0.99
        assert small_model.decide(both) == [label]
    everything = np.full(len(LABELS), 0.99)
    assert small_model.decide(everything) == ["ad", "negativity"]  # ad and abuse are independent


def test_model_directory_round_trip(small_model: MessageClassifier, tmp_path: Path) -> None:
    save_classifier(small_model, tmp_path / "m", {"note": "test"})
    manifest = read_manifest(tmp_path / "m")
    assert manifest["encoder"] is None and manifest["note"] == "test"
    loaded = load_classifier(tmp_path / "m")
    messages = [Message(text="兼职刷单日结，私聊", id="1")]
    np.testing.assert_allclose(loaded.predict_proba(messages), small_model.predict_proba(messages))


def test_a_model_fitted_on_other_signal_features_is_refused_when_loaded(
    small_model: MessageClassifier, tmp_path: Path
) -> None:
    # as a model trained by a qunshao from before is_greeting existed would be
    older = copy.deepcopy(small_model)
    older.signal_features_ = [name for name in small_model.signal_features_ if name != "is_greeting"]
    save_classifier(older, tmp_path / "m", {})
    with pytest.raises(ValueError, match=r"trained on 18 signal features.*computes 19.*is_greeting.*retrain"):
        load_classifier(tmp_path / "m")


def test_code_point_tables_agree_with_python() -> None:
    points = np.concatenate([np.arange(0x10000), [0x1D7D8, 0x1F600, 0x20000, 0x10FFFF]]).astype(np.uint32)
    for method in ("isalnum", "isdigit", "isdecimal"):
        want = [getattr(chr(c), method)() for c in points.tolist()]
        assert char_test(points, method).tolist() == want
    # a batch's code points: each text where Python indexes it, counts and neighbours kept per text
    texts = ["ab", "", "😀x", "a\ud800"]
    batch = CodePoints(texts)
    assert batch.points.tolist() == [ord(ch) for ch in "".join(texts)]
    assert (batch.starts.tolist(), batch.ends.tolist()) == ([0, 2, 2, 4], [2, 2, 4, 6])
    assert batch.count(batch.points == ord("a")).tolist() == [1, 0, 0, 1]
    assert batch.same_text(1).tolist() == [True, False, True, False, True]


def test_digit_ratio_counts_every_kind_of_digit() -> None:
    # the batch count must match str.isdigit character by character: circled, full-width,
    # superscript and mathematical digits, an empty text, a text of digits only
    texts = ["加我１３８０００0", "①②③号", "x²", "𝟘𝟙 数学", "", "2026", "没有数字"]
    analyses = [analyze(text, segment=False) for text in texts]
    want = [sum(ch.isdigit() for ch in a.deobfuscated) / max(len(a.deobfuscated), 1) for a in analyses]
    for many in (1, 6):  # a bot's few messages (counted in Python), a batch (counted in numpy)
        column = signal_matrix(analyses * many)[:, SIGNAL_FEATURE_NAMES.index("digit_ratio")]
        np.testing.assert_array_equal(column, np.array(want * many, dtype=np.float32))
    assert column[5] == 1.0 and column[4] == 0.0 and column[6] == 0.0


def test_reason_hashing_matches_the_vectorizer() -> None:
    row = ngram_vectorizer().transform(["傻逼"])
    assert abs(murmurhash3_32("傻逼", seed=0)) % NGRAM_FEATURES in set(row.indices)


def test_group_centroid_is_causal_and_batch_invariant() -> None:
    vectors = np.eye(4, dtype=np.float32)[[0, 0, 0, 1, 0]]
    related = relatedness(None, GroupProfile(min_seen=2), vectors)
    # rows 0-1 have too little history; row 2 sees the centroid of two e0 rows; row 3 (e1) shares nothing
    assert (related[:2, 4] == 0).all() and (related[2:, 4] == 1).all()
    assert related[2, 3] == pytest.approx(1.0) and related[3, 3] == pytest.approx(0.0)
    assert related[4, 3] == pytest.approx(3 / 10**0.5)  # centroid of e0,e0,e0,e1
    assert (related[:, 2] == 0).all()  # no purpose given
    # the same messages one at a time, dense or sparse, give the same answer
    one_by_one, sparse = GroupProfile(min_seen=2), GroupProfile(min_seen=2)
    single = np.vstack([relatedness(None, one_by_one, vectors[[i]]) for i in range(5)])
    np.testing.assert_allclose(single, related, atol=1e-6)
    np.testing.assert_allclose(relatedness(None, sparse, sp.csr_matrix(vectors)), related, atol=1e-6)


def test_sparse_rows_gather_and_multiply_as_scipy_does() -> None:
    # the encoder-free group similarities run on these flat rows: scipy's numbers (products to the
    # bit; a row's sum of squares in entry order, where scipy sums pairwise: equal to rounding)
    rng = np.random.default_rng(5)
    dense = np.abs(rng.standard_normal((60, 300))) * (rng.random((60, 300)) < 0.1)
    dense[7] = 0.0  # an empty row
    matrix = sp.csr_matrix(dense)
    flat = SparseRows.from_matrix(matrix)
    rows = np.array([3, 7, 7, 0, 59, 12])  # any order, repeats
    for got, want in ((flat.take(rows), matrix[rows]), (flat.rows_between(10, 25), matrix[10:25])):
        assert got.shape == want.shape
        np.testing.assert_array_equal(got.indptr, want.indptr)
        np.testing.assert_array_equal(got.columns, want.indices)
        np.testing.assert_array_equal(got.data, want.data)
        vector = rng.standard_normal(300).astype(np.float32)
        np.testing.assert_array_equal(got.dot(vector), want @ vector)
        np.testing.assert_allclose(got.squares(), np.asarray(want.multiply(want).sum(axis=1)).ravel(), rtol=1e-13)
    # duplicate entries (an uncanonical matrix) are summed, as scipy would
    twice = sp.csr_matrix((np.array([1.0, 2.0, 3.0]), np.array([4, 4, 1]), np.array([0, 3])), shape=(1, 9))
    once = SparseRows.from_matrix(twice)
    assert once.columns.tolist() == [1, 4] and once.data.tolist() == [3.0, 3.0]
    # a group's purpose similarity: flat rows and scipy rows agree
    purpose = rng.standard_normal((2, 300)).astype(np.float32)
    np.testing.assert_allclose(relatedness(purpose, None, flat), relatedness(purpose, None, matrix), rtol=1e-6)


def _naive_running_cosines(rows: np.ndarray, memory: int, min_seen: int) -> np.ndarray:
    """The definition, one row at a time: cosine to the weighted mean of the rows before it."""
    centroid, out = np.zeros(rows.shape[1]), []
    for seen, x in enumerate(rows.astype(np.float64)):
        norm = np.linalg.norm(centroid) * np.linalg.norm(x)
        out.append(centroid @ x / norm if seen >= min_seen and norm > 0 else np.nan)
        weight = min(seen, memory)
        centroid = (weight * centroid + x) / (weight + 1)
    return np.array(out)


@pytest.mark.parametrize("sparse", [False, True])
def test_group_centroid_matches_its_definition_in_any_batching(sparse: bool) -> None:
    rng = np.random.default_rng(3)
    rows = np.abs(rng.standard_normal((700, 40))) * (rng.random((700, 40)) < 0.2)
    expected = _naive_running_cosines(rows, memory=50, min_seen=3)
    profile, got, start = GroupProfile(memory=50), [], 0
    for size in [1, 2, 300, 7, 390]:  # across chunk boundaries inside relate, too
        block = rows[start : start + size]
        got.append(profile.relate(sp.csr_matrix(block) if sparse else block))
        start += size
    np.testing.assert_allclose(np.concatenate(got), expected, atol=1e-5)


def test_group_centroid_matches_its_definition_over_hashed_columns() -> None:
    # the fold orders entries by column 16 bits at a time: columns that agree in their low 16 bits
    # (5 and 5 + 2**16) must stay apart, and rows in order within each column
    rng = np.random.default_rng(4)
    rows = np.abs(rng.standard_normal((600, 40))) * (rng.random((600, 40)) < 0.2)
    columns = np.concatenate([[5, 5 + 2**16, 2**17 - 1], rng.choice(np.arange(6, 2**17 - 1), 37, replace=False)])
    dense = sp.csr_matrix(rows)
    wide = sp.csr_matrix((dense.data, columns[dense.indices], dense.indptr), shape=(len(rows), NGRAM_FEATURES))
    profile = GroupProfile(memory=50)
    got = np.concatenate([profile.relate(wide[:250]), profile.relate(wide[250:])])
    np.testing.assert_allclose(got, _naive_running_cosines(rows, memory=50, min_seen=3), atol=1e-5)


@pytest.mark.parametrize("sparse", [False, True])
def test_group_centroid_stays_finite_in_a_long_lived_group(sparse: bool) -> None:
    # the decaying scale was once renormalised too late: |direction|^2 overflowed after ~178k messages
    rows = np.random.default_rng(0).standard_normal((1000, 8))
    profile = GroupProfile()
    for _ in range(200):
        profile.observe(sp.csr_matrix(rows) if sparse else rows)
    related = profile.relate(rows[:5])  # as after 10 rounds: older rounds have faded
    assert np.isfinite(related).all() and np.isfinite(profile.centroid_).all()
    np.testing.assert_allclose(
        related, _naive_running_cosines(np.vstack([rows] * 11), 500, 3)[10_000:10_005], atol=1e-4
    )


def test_group_centroid_follows_the_recent_discussion() -> None:
    profile = GroupProfile(memory=10)
    profile.observe(np.eye(2, dtype=np.float32)[[0] * 200])
    profile.observe(np.eye(2, dtype=np.float32)[[1] * 30])
    # after 30 messages on a new subject the old one has faded (weight (10/11)^30 ~ 6%)
    assert profile.relate(np.eye(2, dtype=np.float32)[[1]], learn=False)[0] > 0.99


def test_group_profiles_file(tmp_path: Path) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text(
        "ppt:\n  topic: PPT设计学习群\n  admins: [助教-木木]\n  allowed_domains: [Edu.Example.cn]\nrun: 南山夜跑团\n",
        "utf-8",
    )
    profiles = load_group_profiles(path)
    assert profiles["ppt"].admins == ["助教-木木"] and profiles["ppt"].allowed_domains == ["edu.example.cn"]
    assert profiles["run"].topic == "南山夜跑团"
    assert load_group_profiles(ROOT / "data" / "sample_groups.yaml")["baby-care"].examples


def test_fast_ngram_hashing_equals_the_vectorizer() -> None:
    from nlp.classify.ngrams import _floored_normalise, _GramColumnCache, hash_ngrams

    texts = [
        "加微信 abc_1234  领资料", "收到", "", "  ", "A  b\tC", "今晚间歇跑几组？配速按五分半来🏃", "ｗｘ１２３",
        "😀😀👍🏻 emoji 在 astral 平面", "x", "ab",
    ]  # fmt: skip
    reference = _floored_normalise(ngram_vectorizer().transform(texts)).toarray()
    small = hash_ngrams(texts)  # a bot's few messages: the plain loop
    batched = hash_ngrams(texts * 4)[: len(texts)]  # 32 or more rows: packed keys in numpy
    np.testing.assert_array_equal(small.toarray(), reference)
    np.testing.assert_array_equal(batched.toarray(), reference)
    tiny = _GramColumnCache(max_size=5)  # the table starts over many times: same columns
    for _ in range(3):
        np.testing.assert_array_equal(tiny.transform(texts).toarray(), reference)
    counts = ngram_vectorizer().transform(texts).toarray()
    norms = np.linalg.norm(small.toarray(), axis=1)
    long_row, short_row = 5, 1  # 今晚间歇跑几组…: unit length; 收到 (3 grams): below the floor, not blown up
    assert norms[long_row] == pytest.approx(1.0)
    assert norms[short_row] == pytest.approx(np.linalg.norm(counts[short_row]) / NGRAM_NORM_FLOOR)


def test_direct_heads_equal_sklearn_predict_proba(small_model) -> None:
    topics = [None, None, "南山夜跑团：跑步训练", "南山夜跑团：跑步训练"]  # the ad head reads a purpose too
    texts = ["兼职刷单日结，私聊", "你是猪吗", "收到", "今晚跑步吗"]
    messages = [Message(text=t, id=str(i), group_topic=g) for i, (t, g) in enumerate(zip(texts, topics, strict=True))]
    feats = small_model.features(messages)
    direct = small_model.predict_proba_features(feats)
    for j, label in enumerate(small_model.labels):
        via_sklearn = small_model.heads_[label].predict_proba(small_model._head_input(label, feats))[:, 1]
        np.testing.assert_allclose(direct[:, j], via_sklearn, rtol=1e-5, atol=1e-7)


def test_reliability_measures_the_gap_between_scores_and_frequencies() -> None:
    from nlp.train.recipe import reliability

    truth = np.array([1] * 2 + [0] * 8 + [1] * 8 + [0] * 2)  # 20% positive at 0.2, 80% at 0.8
    calibrated = reliability(truth, np.array([0.2] * 10 + [0.8] * 10))
    assert calibrated["ece"] == pytest.approx(0.0, abs=1e-9)
    assert [(b["n"], b["positive"]) for b in calibrated["bins"]] == [(10, 0.2), (10, 0.8)]
    overconfident = reliability(truth, np.array([0.05] * 10 + [0.99] * 10))
    assert overconfident["ece"] == pytest.approx(0.5 * 0.15 + 0.5 * 0.19)
    assert overconfident["brier"] > calibrated["brier"] == pytest.approx(0.16)


@pytest.mark.parametrize("high", [2**10, 2**17, 2**31, 2**40, 2**50])
def test_radix_order_is_a_stable_argsort(high: int) -> None:
    # text numbers, hashed columns, (text, gram) pairs, grams in character ranks; beyond 48 bits, and
    # negative keys, it falls back
    from nlp.classify.ngrams import stable_order

    keys = np.random.default_rng(high % 97).integers(0, high, 5000)
    keys[:50] = keys[50:100]  # ties, which must keep their order
    for array in (keys, keys.astype(np.int32) if high <= 2**31 else -keys, keys[:0]):
        np.testing.assert_array_equal(stable_order(array), np.argsort(array, kind="stable"))


def test_term_candidates_from_the_text_stage_give_the_same_reasons() -> None:
    """A batch's text stage also lists what reasons may quote; ranking those must name exactly the
    terms found from the text itself, for any head's weights."""
    import json

    from nlp.classify.features import text_block
    from nlp.classify.reasons import top_terms, top_terms_of_batch, weight_ranks

    lines = (ROOT / "data" / "labelled" / "chat_dev.jsonl").read_text("utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines] + ["", "  ", "ＡＢ  ｃｄ!!", "😀😀 ok ok"]
    block = text_block(texts)
    assert block.terms is not None and block.terms.exact.sum() >= len(texts) - 4
    rng = np.random.default_rng(0)
    named = 0
    for decimals in (None, None, 1):  # rounded to one decimal: many weights tie
        weights = rng.normal(size=NGRAM_FEATURES)
        weights = weights if decimals is None else np.round(weights, decimals)
        expected = [top_terms(analysis, weights) for analysis in block.analyses]
        ranks = weight_ranks(weights)
        everything = top_terms_of_batch(block.analyses, weights, block.terms, range(len(texts)), ranks=ranks)
        for text, got, want in zip(texts, everything, expected, strict=True):
            assert got == want, text
        named += sum(map(len, expected))
        # a scattered subset with a repeat, some texts marked inexact (found from the text itself)
        subset = [*rng.permutation(len(texts))[: len(texts) // 2].tolist(), len(texts) - 2, len(texts) - 2]
        inexact = dataclasses.replace(block.terms, exact=block.terms.exact & (rng.random(len(texts)) < 0.8))
        assert top_terms_of_batch(block.analyses, weights, inexact, subset, ranks=ranks) == [
            expected[t] for t in subset
        ]
    assert named > len(texts)


@pytest.mark.parametrize("rows", ["chat", "all"])
def test_negativity_threshold_is_chosen_on_the_chat_rows(small_model: MessageClassifier, rows: str) -> None:
    """Public dev negatives that score high (forum comments on heated topics) must not set the
    operating point for group chat, where insults score lower than they do and chat's own
    negatives lower still; every other label's thresholds are the same either way."""
    import copy

    from nlp.train.datasets import LabelledSet
    from nlp.train.recipe import Recipe, tune_thresholds

    rng = np.random.default_rng(0)
    chat = [(1, 0.6, 0.7)] * 20 + [(0, 0.0, 0.3)] * 80  # (insult?, negativity score range)
    public = [(1, 0.85, 0.95)] * 200 + [(0, 0.55, 0.75)] * 200
    labelled = chat + public
    y = np.array([[int(i % 5 == 0), label, -1] for i, (label, _, _) in enumerate(labelled)], dtype=np.int8)
    proba = np.zeros((len(labelled), len(LABELS)))
    proba[:, 1] = [rng.uniform(low, high) for _, low, high in labelled]
    proba[:, 0] = np.where(y[:, 0] == 1, 0.9, 0.1)
    dev = LabelledSet(
        [Message(text=str(i), id=str(i)) for i in range(len(labelled))], y, ["chat"] * 100 + ["cold_dev"] * 400
    )
    clf = copy.deepcopy(small_model)
    tune_thresholds(clf, dev, proba, np.arange(len(labelled)) < 100, Recipe(negativity_threshold_on=rows))
    if rows == "chat":
        assert 0.3 <= clf.thresholds_["negativity"] <= 0.6  # all of chat's insults, none of its calm lines
    else:
        assert clf.thresholds_["negativity"] > 0.7  # the public negatives decide
    assert clf.block_thresholds_["negativity"] >= clf.thresholds_["negativity"]
    everything = copy.deepcopy(small_model).tune_thresholds(
        proba, y, sample_weight=np.where(np.arange(len(labelled)) < 100, 8.0, 1.0), priors=Recipe().priors
    )
    assert clf.thresholds_["ad"] == everything.thresholds_["ad"]
    assert clf.block_thresholds_["negativity"] >= everything.block_thresholds_["negativity"]


def test_threshold_follows_a_neighbourhood_not_a_one_message_spike() -> None:
    """Two heavy dev rows a hair apart (a chat false positive at 0.745, a chat ad at 0.755: after
    the chat/public balance one chat row weighs dozens) make a one-point spike in the F1 curve; the
    single-point rule jumps to it, the windowed rule stays on the broad plateau below."""
    rng = np.random.default_rng(1)
    scores = np.r_[rng.uniform(0.8, 0.99, 50), rng.uniform(0.4, 0.6, 4), [0.755], rng.uniform(0.0, 0.3, 300), [0.745]]
    truth = np.r_[np.ones(55), np.zeros(301)]
    weights = np.ones(len(scores))
    weights[[54, -1]] = 10.0
    y = np.full((len(scores), len(LABELS)), -1, dtype=np.int8)
    y[:, 0] = truth
    proba = np.zeros((len(scores), len(LABELS)))
    proba[:, 0] = scores

    def tuned(window: float) -> float:
        clf = MessageClassifier(threshold_window=window, threshold_tie=0.0)  # the window alone
        clf.thresholds_, clf.block_thresholds_ = {}, {}
        return clf.tune_thresholds(proba, y, sample_weight=weights).thresholds_["ad"]

    assert tuned(0.0) == 0.75
    assert 0.3 < tuned(0.05) <= scores[50:54].min()  # above the negatives, at or below every positive


def test_thresholds_within_the_tie_of_the_best_f1_count_as_tied() -> None:
    """A plateau whose far end is higher by one light row: an exact-maximum rule sits at that end,
    a tolerance takes the plateau's middle."""
    scores = np.r_[np.full(40, 0.9), np.full(40, 0.1), [0.5]]
    truth = np.r_[np.ones(40), np.zeros(40), [0]]
    weights = np.r_[np.ones(80), [0.05]]  # the one negative at 0.5: a hair of F1 below 0.5
    y = np.full((len(scores), len(LABELS)), -1, dtype=np.int8)
    y[:, 0] = truth
    proba = np.zeros((len(scores), len(LABELS)))
    proba[:, 0] = scores

    def tuned(tie: float) -> float:
        clf = MessageClassifier(threshold_window=0.0, threshold_tie=tie)
        clf.thresholds_, clf.block_thresholds_ = {}, {}
        return clf.tune_thresholds(proba, y, sample_weight=weights).thresholds_["ad"]

    exact, tolerant = tuned(0.0), tuned(0.02)
    assert 0.5 < exact <= 0.9  # only the thresholds above the light negative reach the maximum
    assert 0.1 < tolerant < exact  # the whole plateau from 0.11 to 0.90, its middle


def test_ad_head_reads_the_group_purpose_only_where_one_is_known(small_model: MessageClassifier) -> None:
    """Spam is usually unrelated to the group it is posted in; without a purpose (a bot message with
    no profile, a public corpus) the ad score must not move at all."""
    text = "PPT排版字体配色的课程作业今晚交"
    topics = ["PPT设计学习群：排版、字体、配色与课程作业", "钓鱼爱好者群：钓点、饵料与渔获", None]
    messages = [Message(text=text, id=str(i), group=f"g{i}", group_topic=t) for i, t in enumerate(topics)]
    feats = small_model.features(messages)
    block = small_model._purpose_block(feats)
    assert (block[2] == 0).all() and block[0, 0] > block[1, 0]
    ad = small_model.predict_proba_features(feats)[:, LABELS.index("ad")]
    assert ad[0] < ad[1]  # on the group's own topic: less of an ad than the same words anywhere else


def test_offtopic_threshold_also_reads_dev_conversations(small_model: MessageClassifier) -> None:
    """The dev timelines (discussions woven with chatter threads) join the chat dev rows for
    off-topic's threshold only; their scores are the pipeline's, in conversation."""
    import copy

    from sklearn.metrics import f1_score

    from nlp.train.datasets import LabelledSet
    from nlp.train.recipe import TIMELINES_DEV, Recipe, timeline_scores, tune_offtopic_on_timelines

    dev = load_labelled(CHAT_DEV)
    proba = small_model.predict_proba(dev.messages)
    chat_rows = np.ones(len(dev), dtype=bool)
    scores, gold = timeline_scores(small_model, [TIMELINES_DEV])
    assert len(scores) == len(gold) > 200 and 0 < gold.sum() < len(gold)
    assert ((scores >= 0) & (scores <= 1)).all()

    flat = copy.deepcopy(small_model)
    assert tune_offtopic_on_timelines(flat, dev, proba, chat_rows, Recipe(dev_timelines=[])) is None
    assert flat.thresholds_ == small_model.thresholds_  # nothing to add: thresholds untouched

    both = copy.deepcopy(small_model)
    report = tune_offtopic_on_timelines(both, dev, proba, chat_rows, Recipe())
    assert report is not None and report["messages"] == len(gold) and report["chatter"] == gold.sum()
    for label in ("ad", "negativity"):
        assert both.thresholds_[label] == small_model.thresholds_[label]
    # Only the timelines know the label: the threshold is then theirs alone, and it is their best F1.
    no_rows = LabelledSet(dev.messages, np.full_like(dev.y, -1), dev.sources)
    alone = copy.deepcopy(small_model)
    tune_offtopic_on_timelines(alone, no_rows, proba, chat_rows, Recipe(priors={"offtopic": gold.mean()}))
    chosen = alone.thresholds_["offtopic"]
    f1 = [f1_score(gold, scores >= t, zero_division=0) for t in (chosen, small_model.thresholds_["offtopic"])]
    assert f1[0] >= f1[1] - 0.02


def test_ad_threshold_also_reads_dev_conversations(small_model: MessageClassifier) -> None:
    """Members' own messages in the dev timelines join dev as negatives for the ad review
    threshold, each weighing as much as a chat dev row, and leave the other labels and the block
    threshold (the dev rows' call) alone. (Not "it can only rise": at a fixed prior, negatives
    scored below every threshold raise the positives' weight with theirs, and the F1-best
    threshold may fall.)"""
    import copy

    from nlp.classify.classifier import UNKNOWN
    from nlp.train.recipe import (
        TIMELINES_DEV,
        Recipe,
        balance_weights,
        timeline_verdicts,
        tune_ad_on_timelines,
        tune_on_timelines,
    )

    dev = load_labelled(CHAT_DEV)
    proba = small_model.predict_proba(dev.messages)
    chat_rows = np.ones(len(dev), dtype=bool)
    flat = copy.deepcopy(small_model)
    flat.tune_thresholds(proba, dev.y, priors=Recipe().priors)
    scores = np.array([v.scores["ad"] for _, v in timeline_verdicts(flat, [TIMELINES_DEV])])

    tuned = copy.deepcopy(flat)
    report = tune_ad_on_timelines(tuned, dev, proba, chat_rows, Recipe())
    assert report["messages"] == len(scores) > 200
    # the same choice made by hand: dev rows, then the timeline messages as negatives
    column = dev.labels.index("ad")
    weights = balance_weights(dev, Recipe().chat_weight)
    y = np.full((len(dev) + len(scores), len(dev.labels)), UNKNOWN, dtype=np.int8)
    y[: len(dev), column], y[len(dev) :, column] = dev.y[:, column], 0
    both = np.zeros(y.shape, dtype=np.float32)
    both[: len(dev), column], both[len(dev) :, column] = proba[:, column], scores
    w = np.concatenate([weights, np.full(len(scores), weights.mean())])
    by_hand = copy.deepcopy(flat).tune_thresholds(both, y, sample_weight=w, priors=Recipe().priors, labels=["ad"])
    assert tuned.thresholds_["ad"] == by_hand.thresholds_["ad"]
    assert report["flagged"] == (scores >= tuned.thresholds_["ad"]).sum()
    assert tuned.block_thresholds_["ad"] == max(flat.block_thresholds_["ad"], tuned.thresholds_["ad"])
    for label in ("negativity", "offtopic"):
        assert tuned.thresholds_[label] == flat.thresholds_[label]
    assert tune_on_timelines(copy.deepcopy(flat), dev, proba, chat_rows, Recipe(dev_timelines=[])) is None


def test_reasons_quote_terms_that_keep_to_word_boundaries() -> None:
    """The heaviest character gram often cuts a word (``午吃`` in ``中午吃啥``); a reason quotes the
    heaviest one that does not, and falls back to the heaviest of all only when every one does."""
    from nlp.classify.features import text_block
    from nlp.classify.ngrams import gram_column
    from nlp.classify.reasons import top_terms, top_terms_of_batch, weight_ranks

    def weighted(**grams: float) -> np.ndarray:
        weights = np.zeros(NGRAM_FEATURES)
        for gram, weight in grams.items():
            weights[gram_column(gram)] = weight
        return weights

    texts = ["中午吃啥啊各位", "男人都这样", *(f"第{i}条消息" for i in range(40))]  # a batch: terms listed
    block = text_block(texts)
    lunch = weighted(午吃=3.0, 中午=1.0, 各位=0.5)
    assert [t for t, _ in top_terms(block.analyses[0], lunch)] == ["中午", "各位"]
    men = weighted(人都=3.0, 男人=2.0, 都这样=1.0)
    assert [t for t, _ in top_terms(block.analyses[1], men)] == ["男人", "都这样"]
    only_cutting = weighted(午吃=3.0, 啊各=2.0)
    assert [t for t, _ in top_terms(block.analyses[0], only_cutting)] == ["午吃", "啊各"]
    for weights in (lunch, men, only_cutting):
        assert top_terms_of_batch(block.analyses, weights, block.terms, [0, 1], ranks=weight_ranks(weights)) == [
            top_terms(a, weights) for a in block.analyses[:2]
        ]


def test_a_memo_answers_for_one_owner_and_stays_bounded() -> None:
    from nlp.classify.memo import OwnerMemo

    memo: OwnerMemo[int] = OwnerMemo(most=3)
    head, other = np.zeros(2), np.zeros(2)  # equal arrays, different heads
    memo.answers_for(head).update(a=1, b=2)
    assert memo.answers_for(head) == {"a": 1, "b": 2}  # kept while the owner is the same
    assert memo.answers_for(other) == {}  # another owner: nothing of the first one's
    memo.answers_for(other).update(a=1, b=2, c=3)
    assert memo.answers_for(other) == {}  # full when fetched: emptied


def test_word_cuts_remembered_by_window_answer_as_the_dictionary_does() -> None:
    # whether a word straddles a cut is kept per 4-character window across messages: the same
    # answer as the three dictionary lookups, at the ends of a text and with the memo cold or warm
    from nlp.classify import reasons

    words = reasons._words()

    def straddled(text: str, cut: int) -> bool:
        get = words.get
        return 0 < cut < len(text) and (
            get(text[cut - 1 : cut + 1], 0) > 0
            or (cut > 1 and get(text[cut - 2 : cut + 1], 0) > 0)
            or get(text[cut - 1 : cut + 2], 0) > 0
        )

    texts = ["中午吃啥啊各位", "男人都这样", "午吃", "吃", "", "今天天气不错我们去公园散步吧", "a中午b"]
    reasons._WINDOWS.answers_for({})  # another dictionary in between: the memo starts afresh
    for _cold_then_warm in range(2):
        windows = reasons._WINDOWS.answers_for(words)
        for text in texts:
            got = [reasons._straddled(text, cut, words, windows) for cut in range(-1, len(text) + 2)]
            assert got == [straddled(text, cut) for cut in range(-1, len(text) + 2)], text
    windows = reasons._WINDOWS.answers_for(words)
    assert reasons._straddled("中午吃啥", 1, words, windows)  # 中|午 cuts 中午
    assert not reasons._straddled("中午吃啥", 0, words, windows)
    own = {"吃啥": 5}  # a caller's own dictionary is not answered from jieba's
    assert not reasons._straddled("中午吃啥", 1, own, reasons._WINDOWS.answers_for(own))


@pytest.mark.parametrize(
    "text",
    [
        *("收到", "+1", "好的谢谢", "懂了", "好的记下了", "谢谢老师，学到了", "好的谢谢小李", "嗯嗯我今晚试试"),
        *("没问题👍", "好 的", "厉害厉害", "好的，马上去", "感谢分享，收藏了", "成功了！！！谢谢"),
    ],
)
def test_acknowledgements_are_recognised(text: str) -> None:
    assert is_acknowledgement(normalize(text))


@pytest.mark.parametrize(
    "text",
    [
        "好的，那我们周末去吃火锅吧",
        "好的记下了，顺便问下辅食几点喂",
        "谢谢你全家",
        "你试试",
        "马上去吃饭",
        "哈哈哈",
        "早安打卡",
    ],
)
def test_a_message_with_more_than_an_acknowledgement_is_not_one(text: str) -> None:
    assert not is_acknowledgement(normalize(text))


def test_acknowledgement_check_stays_linear_on_long_near_misses() -> None:
    # 好的大家 is 好的 + 大家 or 好 + 的大家: each repeat doubled the time of a failing match
    started = time.perf_counter()
    assert not is_acknowledgement("好的大家" * 40 + "x")
    assert not is_acknowledgement("，".join(["哦哦哦"] * 40) + "x")
    assert time.perf_counter() - started < 0.5
    assert is_acknowledgement("好的大家" * 40)


def test_checkin_check_stays_linear_on_long_near_misses() -> None:
    # 早安打卡 x 40 + one more character: tried every way of cutting it into words, this took days
    started = time.perf_counter()
    assert not is_greeting("早安打卡" * 40 + "x")
    assert time.perf_counter() - started < 0.5
    assert is_greeting("早安打卡" * 40) and is_greeting(normalize("大家早上好☀️"))


def test_a_pitch_after_a_greeting_is_also_scored_on_its_own(small_model: MessageClassifier) -> None:
    """The ad head reads a greeting-wrapped message twice, whole and after the greeting, and keeps
    the higher score; the other heads, and fitting, read the whole message only."""
    wrapped = "祝大家周末愉快！代餐奶昔买二送一，想瘦的姐妹找我拿货"
    pitch = "代餐奶昔买二送一，想瘦的姐妹找我拿货"
    plain = ["今晚跑步吗", wrapped, "收到"]
    # no stated purpose: the ad head's purpose columns are then 0 for both readings, so the pitch
    # read alone scores exactly what the wrapped message's second reading does
    messages = [Message(text=t, id=str(i)) for i, t in enumerate(plain)]
    alone = Message(text=pitch, id="p")
    assert small_model.preamble_labels == ("ad",)

    viewed = small_model.predict_proba(messages)
    whole_only = copy.deepcopy(small_model)
    whole_only.preamble_labels = ()
    whole = whole_only.predict_proba(messages)
    tail = whole_only.predict_proba([alone])[0]
    ad = LABELS.index("ad")
    assert viewed[1, ad] == pytest.approx(max(whole[1, ad], tail[ad]), abs=1e-6)
    assert tail[ad] > whole[1, ad]  # the greeting did hide part of the pitch
    np.testing.assert_allclose(np.delete(viewed, ad, axis=1), np.delete(whole, ad, axis=1), atol=1e-7)
    np.testing.assert_allclose(viewed[[0, 2]], whole[[0, 2]], atol=1e-7)  # no preamble, no change

    assert small_model.prepare(messages, preambles=False).tails is None  # what fit reads
    older = copy.deepcopy(small_model)
    del older.preamble_labels  # a model saved before the view existed scores as it was tuned
    np.testing.assert_allclose(older.predict_proba(messages), whole, atol=1e-7)
    assert not older.prepare(messages).unique[3:]


def test_the_words_after_a_greeting_are_judged_against_the_purpose_by_themselves(
    small_model: MessageClassifier,
) -> None:
    """A greeting names the group's audience (宝妈们, the purpose's own words), and the ad head reads
    "related to the purpose" as "less of an ad": the offer after it must be related to the purpose
    as it is, not as the greeting makes it. So, with a stated purpose, the wrapped message's second
    reading is exactly the offer read alone in the same group."""
    topic = "宝妈育儿交流群：0-3岁宝宝喂养、睡眠与健康"
    wrapped = Message(
        text="早上好宝妈们！我是做母婴护理的小周，月嫂育婴师都能介绍，本月签约立减八百", id="w", group_topic=topic
    )
    offer = Message(text="月嫂育婴师都能介绍，本月签约立减八百", id="o", group_topic=topic)
    whole_only = copy.deepcopy(small_model)
    whole_only.preamble_labels = ()
    ad = LABELS.index("ad")
    whole, alone = whole_only.predict_proba([wrapped, offer])[:, ad]
    assert alone > whole  # the greeting did hide part of the offer
    assert small_model.predict_proba([wrapped])[0, ad] == pytest.approx(alone, abs=1e-6)

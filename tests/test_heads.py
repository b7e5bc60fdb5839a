"""StackedHead (linear + MLP over the dense block) and the classifier's direct path through it."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression

from nlp.classify import LABELS, MessageClassifier
from nlp.classify.heads import StackedHead
from nlp.classify.model_files import load_classifier, read_manifest, save_classifier
from nlp.io import Message
from nlp.train.datasets import load_labelled
from nlp.train.recipe import CHAT_TRAIN, offtopic_views


def _xor_data(n: int, seed: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """Four sparse "n-gram" columns, one of them a weak cue (present on 40% of positives and 10%
    of negatives), then two dense columns whose label is their XOR: no linear model separates
    those, as in real data where both blocks carry signal."""
    rng = np.random.default_rng(seed)
    dense = rng.uniform(-1, 1, size=(n, 2))
    y = ((dense[:, 0] > 0) ^ (dense[:, 1] > 0)).astype(int)
    sparse = sp.random(n, 4, density=0.3, random_state=seed, format="lil")
    sparse[:, 0] = (rng.random(n) < np.where(y == 1, 0.4, 0.1)).astype(float).reshape(-1, 1)
    return sp.hstack([sparse.tocsr(), sp.csr_matrix(dense)], format="csr"), y


def test_mlp_part_learns_what_the_linear_part_cannot() -> None:
    X, y = _xor_data(2000, seed=1)
    X_test, y_test = _xor_data(1000, seed=2)
    linear = StackedHead(hidden=0, dense_from=4).fit(X, y)
    stacked = StackedHead(hidden=16, dense_from=4).fit(X, y)
    linear_accuracy = ((linear.decision_function(X_test) > 0) == y_test).mean()
    stacked_accuracy = ((stacked.decision_function(X_test) > 0) == y_test).mean()
    assert linear_accuracy < 0.7
    assert stacked_accuracy > linear_accuracy + 0.1


def test_decision_is_the_sum_of_both_parts_scaled() -> None:
    X, y = _xor_data(600, seed=3)
    head = StackedHead(hidden=8, dense_from=4).fit(X, y, sample_weight=np.linspace(0.5, 2.0, len(y)))
    dense = X[:, 4:].toarray()
    mlp_logit = logit(np.clip(head.mlp_.predict_proba((dense - head.mean_) / head.std_)[:, 1], 1e-12, 1 - 1e-12))
    np.testing.assert_allclose(head.mlp_logit(dense), mlp_logit, rtol=1e-6, atol=1e-6)
    expected = head.lr_.decision_function(X) / head.lr_scale_ + mlp_logit / head.mlp_scale_
    np.testing.assert_allclose(head.decision_function(X), expected, rtol=1e-6, atol=1e-6)


@pytest.fixture(scope="module")
def stacked_model(onnx_encoder) -> MessageClassifier:
    train = offtopic_views(load_labelled(CHAT_TRAIN))
    clf = MessageClassifier(encoder=onnx_encoder, mlp_labels=("negativity",), mlp_hidden=32, min_mlp_positives=50)
    return clf.fit(train.messages, train.y)


MESSAGES = [
    Message(text=t, id=str(i), group="run", group_topic="夜跑团：跑步训练与约跑")
    for i, t in enumerate(["兼职刷单日结，私聊", "你是猪吗，滚出去", "收到", "今晚跑步吗", "你个废物还好意思说话"])
]


def test_only_the_chosen_label_gets_an_mlp(stacked_model: MessageClassifier) -> None:
    heads = {label: stacked_model.heads_[label].calibrated_classifiers_[0].estimator for label in LABELS}
    assert heads["negativity"].mlp_ is not None
    assert heads["ad"].mlp_ is None and heads["offtopic"].mlp_ is None
    assert [label for label in LABELS if stacked_model.has_mlp(label)] == ["negativity"]


def test_direct_path_equals_sklearn_with_an_mlp_head(stacked_model: MessageClassifier) -> None:
    feats = stacked_model.features(MESSAGES)
    direct = stacked_model.predict_proba_features(feats)
    for j, label in enumerate(stacked_model.labels):
        via_sklearn = stacked_model.heads_[label].predict_proba(stacked_model._head_input(label, feats))[:, 1]
        np.testing.assert_allclose(direct[:, j], via_sklearn, rtol=1e-5, atol=1e-6)
    negativity = stacked_model.labels.index("negativity")
    assert direct[1, negativity] > direct[2, negativity]  # an insult outranks 收到


def test_saved_model_keeps_its_mlp(stacked_model: MessageClassifier, onnx_encoder, tmp_path) -> None:
    save_classifier(stacked_model, tmp_path)
    assert read_manifest(tmp_path)["params"]["mlp_labels"] == ["negativity"]
    loaded = load_classifier(tmp_path, encoder=onnx_encoder)
    np.testing.assert_allclose(loaded.predict_proba(MESSAGES), stacked_model.predict_proba(MESSAGES), atol=1e-6)


def test_bare_logistic_heads_of_older_model_files_still_predict(stacked_model: MessageClassifier) -> None:
    """Model files of format 1 hold CalibratedClassifierCV(LogisticRegression) heads."""
    feats = stacked_model.features(MESSAGES)
    old = MessageClassifier(encoder=stacked_model.encoder)
    old.__dict__.update({k: v for k, v in vars(stacked_model).items() if k.endswith("_")})
    label = "ad"
    y = np.array([1, 0, 0, 0, 1] * 4)
    X = sp.vstack([stacked_model._head_input(label, feats)] * 4, format="csr")
    head = CalibratedClassifierCV(LogisticRegression(solver="liblinear"), method="sigmoid", cv=2, ensemble=False)
    old.heads_ = dict(stacked_model.heads_) | {label: head.fit(X, y)}
    direct = old.predict_proba_features(feats)[:, old.labels.index(label)]
    np.testing.assert_allclose(direct, head.predict_proba(stacked_model._head_input(label, feats))[:, 1], rtol=1e-5)
    assert old.ngram_weights(label).shape[0] > 0


def test_mlp_needs_an_encoder_and_enough_positives(onnx_encoder) -> None:
    target = np.array([1] * 600 + [0] * 2000)
    assert MessageClassifier(encoder=onnx_encoder)._mlp_hidden("negativity", target) == 256
    assert MessageClassifier(encoder=onnx_encoder)._mlp_hidden("ad", target) == 0  # not an MLP label
    assert MessageClassifier(encoder=None)._mlp_hidden("negativity", target) == 0  # encoder-free
    few = np.array([1] * 100 + [0] * 2000)  # an operator's small retraining set
    assert MessageClassifier(encoder=onnx_encoder)._mlp_hidden("negativity", few) == 0


def test_a_copy_keeps_its_encoder_and_a_missing_encoder_is_named(stacked_model: MessageClassifier) -> None:
    import copy

    clone = copy.deepcopy(stacked_model)
    assert clone.encoder is stacked_model.encoder and clone.heads_ is not stacked_model.heads_
    np.testing.assert_allclose(clone.predict_proba(MESSAGES), stacked_model.predict_proba(MESSAGES), atol=1e-7)
    clone.encoder = None  # what a pickle round trip without load_classifier gives
    with pytest.raises(ValueError, match="encoder"):
        clone.predict_proba(MESSAGES)

"""One label's scorer before calibration: a linear model over every feature, optionally joined by a
small neural network over the dense block (sentence embedding + signal features).

Why two parts: char n-grams are sparse and many, and a linear model is what they need (and what
:mod:`nlp.classify.reasons` reads to quote terms). The sentence embedding is where interactions
matter: hostility shows up as a direction *combined* with others (``你`` + a comparison + mockery),
which a linear head over the embedding cannot express. On dev (COLD dev + SWSR dev + the team's
chat dev) adding a one-hidden-layer MLP over the dense block raised negativity PR-AUC 0.931 -> 0.939
and COLD dev accuracy 0.894 -> 0.902; for ads it lowered PR-AUC (a few hundred positives are too
few for it), so which labels get it is a parameter of :class:`~nlp.classify.MessageClassifier`.

Both parts' decisions are scaled to unit spread on the training rows and added; Platt calibration
(``CalibratedClassifierCV`` around this estimator) then maps the sum to a probability.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.utils.class_weight import compute_sample_weight


class StackedHead(ClassifierMixin, BaseEstimator):
    """Logistic regression over ``X`` plus, when ``hidden > 0``, an MLP over ``X[:, dense_from:]``.

    ``X`` is the classifier's ``[n-grams | signals | embedding]`` matrix; ``dense_from`` is where the
    n-grams end. Classes are weighted "balanced" in both parts, and ``sample_weight`` (chat rows
    weigh more than public comments) reaches both."""

    def __init__(
        self,
        C: float = 4.0,
        hidden: int = 0,
        dense_from: int = 0,
        alpha: float = 1e-3,
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.hidden = hidden
        self.dense_from = dense_from
        self.alpha = alpha
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None) -> StackedHead:
        y = np.asarray(y).astype(int)
        self.lr_ = LogisticRegression(C=self.C, class_weight="balanced", max_iter=3000, solver="liblinear")
        self.lr_.fit(X, y, sample_weight=sample_weight)
        self.classes_ = self.lr_.classes_
        self.lr_scale_ = _spread(self.lr_.decision_function(X))
        self.mlp_ = None
        if self.hidden > 0:
            dense = self._dense(X)
            self.mean_ = dense.mean(axis=0)
            self.std_ = dense.std(axis=0) + 1e-6
            weight = compute_sample_weight("balanced", y)  # what class_weight="balanced" does for the LR
            if sample_weight is not None:
                weight = weight * np.asarray(sample_weight, dtype=float)
            self.mlp_ = MLPClassifier(
                (self.hidden,),
                alpha=self.alpha,
                early_stopping=True,
                n_iter_no_change=8,
                max_iter=200,
                batch_size=256,
                random_state=self.random_state,
            )
            self.mlp_.fit((dense - self.mean_) / self.std_, y, sample_weight=weight)
            for state in ("_optimizer", "_best_coefs", "_best_intercepts"):  # training-only, 2/3 of the bytes
                self.mlp_.__dict__.pop(state, None)
            self.mlp_scale_ = _spread(self.mlp_logit(dense))
        return self

    def _dense(self, X) -> np.ndarray:
        block = X[:, self.dense_from :]
        return np.asarray(block.toarray() if sp.issparse(block) else block, dtype=np.float64)

    def mlp_logit(self, dense: np.ndarray) -> np.ndarray:
        """The MLP's output before its sigmoid, computed directly (a bot's single message should
        not pay for sklearn's input validation)."""
        h = (np.asarray(dense, dtype=np.float64) - self.mean_) / self.std_
        (w1, w2), (b1, b2) = self.mlp_.coefs_, self.mlp_.intercepts_
        return (np.maximum(h @ w1 + b1, 0.0) @ w2 + b2).ravel()

    def decision_function(self, X) -> np.ndarray:
        decision = self.lr_.decision_function(X) / self.lr_scale_
        if self.mlp_ is not None:
            decision = decision + self.mlp_logit(self._dense(X)) / self.mlp_scale_
        return decision

    def predict(self, X) -> np.ndarray:
        return self.classes_[(self.decision_function(X) > 0).astype(int)]


def _spread(decision: np.ndarray) -> float:
    spread = float(np.std(decision))
    return spread if spread > 1e-9 else 1.0

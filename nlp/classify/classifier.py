"""``MessageClassifier``: calibrated ad / negativity / off-topic heads for chat messages.

scikit-learn contract: parameters in ``__init__``, learned state in ``*_`` attributes set by
``fit``, ``predict_proba`` returning ``(n, n_labels)``. Each label has its own logistic-regression
head over [char n-grams | their sounds (``sound_labels``) | signal features | sentence embedding],
joined for ``mlp_labels`` by a small MLP over signals + embedding (:mod:`nlp.classify.heads`);
the off-topic head also reads how
related a message is to its group's purpose (:mod:`nlp.classify.profile`). Heads are calibrated
with Platt scaling inside cross-validation, thresholds are then chosen on a dev set
(:meth:`tune_thresholds`), and two thresholds per label give ``block`` / ``review`` / ``pass``.

Labels are independent, and each training row may leave a label unknown (``-1``): COLD rows say
nothing about off-topic, chit-chat rows nothing about ads. A head only trains on rows that know
its label.

``encoder=None`` runs encoder-free (n-grams + signals only): no model weights, much faster.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from nlp.classify.features import SIGNAL_FEATURE_NAMES, TextBlock, sound_ngrams, text_block
from nlp.classify.heads import StackedHead
from nlp.classify.ngrams import NGRAM_FEATURES, TermCandidates, hash_ngrams, ngram_vectorizer
from nlp.classify.profile import RELATEDNESS_NAMES, GroupProfile, relatedness, stated_purpose
from nlp.classify.sparse_rows import SparseRows
from nlp.embed import Encoder
from nlp.embed.encoder import Tokenized
from nlp.io import Message
from nlp.text import TextAnalysis, analyze
from nlp.text.preamble import after_preamble

LABELS = ("ad", "negativity", "offtopic")
UNKNOWN = -1
# Heads that read how a text sounds (nlp.text.sounds) unless told otherwise: homophones are how
# insults and contact words dodge filters; what a message is about is not in its sounds
SOUND_LABELS = ("ad", "negativity")


class TrainingDataError(ValueError):
    """Labelled data that cannot train a head (too few examples of a class): the operator's data to
    fix, not a bug, so commands report it without a traceback."""


@dataclass
class Features:
    """Everything computed once per batch and shared by the heads and the reasons.

    Kept in blocks: text features per *distinct* text (hashed ``ngrams`` and dense ``signals``, with
    ``rows`` mapping messages to them), the weighted sentence embedding per message (``dense``; None
    encoder-free) and the group relatedness (``related``). Prediction multiplies block by block (no
    sparse stacking on a bot's single message); the stacked matrices that fitting needs (``base``,
    ``offtopic``) are built only when asked for."""

    analyses: list[TextAnalysis]
    ngrams: sp.csr_matrix  # per distinct text
    signals: np.ndarray  # per distinct text, (n_distinct, len(SIGNAL_FEATURE_NAMES))
    rows: np.ndarray  # message -> distinct text
    dense: np.ndarray | None  # (n, dim) embedding x embed_weight
    space: np.ndarray | SparseRows  # unit rows the group similarities were computed in
    related: np.ndarray  # (n, len(RELATEDNESS_NAMES))
    related_weight: float = 1.0
    tails: np.ndarray | None = None  # message -> distinct text of its words after a preamble, -1: none
    tail_dense: np.ndarray | None = None  # embedding x embed_weight of those texts, for messages with one
    sounds: sp.csr_matrix | None = None  # per distinct text: n-grams of how it sounds (None: not read)
    tail_related: np.ndarray | None = None  # relatedness of those texts to the purpose, for messages with one

    @property
    def n(self) -> int:
        return len(self.rows)

    def base(self, sounds: bool) -> sp.csr_matrix:
        """[n-grams | their sounds, where ``sounds`` | signals | embedding] per message, built once
        per variant (fitting asks for it per head)."""
        built = self.__dict__.setdefault("_base", {})
        if sounds not in built:
            blocks = [self.ngrams[self.rows]]
            if sounds:
                blocks.append(self.sounds[self.rows])
            blocks.append(sp.csr_matrix(self.signals[self.rows]))
            if self.dense is not None:
                blocks.append(sp.csr_matrix(self.dense))
            built[sounds] = sp.hstack(blocks, format="csr")
        return built[sounds]


@dataclass(frozen=True)
class Prepared:
    """A batch after the text stage: distinct texts analysed once, ``rows`` maps messages to them."""

    messages: list[Message]
    rows: np.ndarray
    unique: list[TextAnalysis]
    ngrams: sp.csr_matrix
    signals: np.ndarray  # signal features per distinct text
    tokens: Tokenized | None  # for the encoder; None in encoder-free mode
    terms: TermCandidates | None = None  # what reasons may quote, per distinct text
    tails: np.ndarray | None = None  # per distinct text: the distinct text after its preamble, -1: none
    sounds: sp.csr_matrix | None = None  # per distinct text: n-grams of how it sounds (None: not read)


class MessageClassifier:
    def __init__(
        self,
        encoder: Encoder | None = None,
        labels: Sequence[str] = LABELS,
        C: float = 4.0,
        embed_weight: float = 1.0,
        relatedness_weight: float = 2.0,
        calibration_folds: int = 3,
        block_precision: float = 0.95,
        min_block_score: float = 0.8,
        mlp_labels: Sequence[str] = ("negativity",),
        mlp_hidden: int = 256,
        min_mlp_positives: int = 500,
        mlp_calibration_folds: int = 10,
        threshold_window: float = 0.05,
        threshold_tie: float = 0.02,
        purpose_labels: Sequence[str] = ("ad",),
        preamble_labels: Sequence[str] = ("ad",),
        sound_labels: Sequence[str] = SOUND_LABELS,
    ) -> None:
        self.encoder = encoder
        self.labels = tuple(labels)
        self.C = C
        self.mlp_labels = tuple(mlp_labels)
        self.mlp_hidden = mlp_hidden
        self.min_mlp_positives = min_mlp_positives
        self.mlp_calibration_folds = mlp_calibration_folds
        self.embed_weight = embed_weight
        self.relatedness_weight = relatedness_weight
        self.calibration_folds = calibration_folds
        self.block_precision = block_precision
        self.min_block_score = min_block_score
        self.threshold_window = threshold_window
        self.threshold_tie = threshold_tie
        self.purpose_labels = tuple(purpose_labels)
        self.preamble_labels = tuple(preamble_labels)
        self.sound_labels = tuple(sound_labels)

    # ----------------------------------------------------------------- features
    def features(
        self,
        messages: Sequence[Message],
        profiles: MutableMapping[str, GroupProfile] | None = None,
        learn: bool = False,
    ) -> Features:
        """Features of a batch: :meth:`prepare` then :meth:`complete`.

        Group centroids are causal (each message sees the messages before it). With ``learn`` the
        batch is folded into ``profiles`` (a group without one gets a new profile); without it the
        profiles are left as they were and the batch still sees its own earlier messages."""
        return self.complete(self.prepare(messages), profiles, learn)

    def prepare(
        self,
        messages: Sequence[Message],
        dedup: bool = True,
        text_stage: Callable[[list[str]], TextBlock] | None = None,
        preambles: bool = True,
    ) -> Prepared:
        """The text stage, once per distinct text: analysis, n-grams, signals and the encoder's
        tokens. Pure CPU work with no shared state, so a worker thread can prepare the next batch
        while :meth:`complete` runs the model on this one. ``dedup=False`` does every message's
        work, repeats included (same results; for measuring what de-duplication saves).
        ``text_stage`` computes :func:`~nlp.classify.features.text_block`, possibly in another
        process (:class:`~nlp.pipeline.Pipeline` ``text_workers``).

        With ``preambles`` (and :attr:`preamble_labels` set) a text that opens with a greeting, a
        wish or a self-introduction also has its remainder prepared, as one more distinct text
        (:mod:`nlp.text.preamble`); fitting leaves it out (the heads learn whole messages)."""
        distinct: dict[str, int] = {}  # with dedup: each text's index (remainders join it)
        if dedup:
            rows = np.fromiter((distinct.setdefault(m.text, len(distinct)) for m in messages), dtype=np.intp)
            texts = list(distinct)
        else:
            rows, texts = np.arange(len(messages)), [m.text for m in messages]
        tails = None
        if preambles and self.preamble_view_labels():
            tails, texts = _with_tails(texts, distinct)
        block = (text_stage or self.text_stage())(texts)
        unique = block.analyses
        tokens = self.encoder.tokenize([a.normalized for a in unique], dedup) if self.encoder is not None else None
        sounds = block.sounds
        if sounds is None and self.reads_sounds():  # a caller's text stage that does not know of them
            sounds = sound_ngrams(unique)
        return Prepared(list(messages), rows, unique, block.ngrams, block.signals, tokens, block.terms, tails, sounds)

    def text_stage(self) -> Callable[[list[str]], TextBlock]:
        """:func:`~nlp.classify.features.text_block` as this model needs it (picklable: a pipeline
        runs it in worker processes)."""
        return functools.partial(text_block, sounds=self.reads_sounds())

    def complete(
        self, prepared: Prepared, profiles: MutableMapping[str, GroupProfile] | None = None, learn: bool = False
    ) -> Features:
        """The model stage: sentence vectors, then per-message relatedness to each group."""
        messages, rows = prepared.messages, prepared.rows
        if prepared.tokens is None and self._needs_embedding():
            raise ValueError(
                "this model was trained with a sentence encoder and none is attached "
                "(load it with load_classifier, or set .encoder to the encoder named in its manifest)"
            )
        dense = tails = tail_dense = None
        if prepared.tails is not None and (prepared.tails[rows] >= 0).any():
            tails = prepared.tails[rows]
        if prepared.tokens is not None:
            per_text = self.encoder.encode_tokenized(prepared.tokens)
            space = per_text[rows]
            dense = space * self.embed_weight
            if tails is not None:
                tail_dense = per_text[tails[tails >= 0]] * self.embed_weight
        else:  # flat rows: the groups' rows are gathered from it without scipy's overhead
            per_text = SparseRows.from_matrix(prepared.ngrams)
            space = per_text.take(rows)
        if not learn:
            in_batch = {m.group for m in messages}
            profiles = {g: self._snapshot(p) for g, p in (profiles or {}).items() if g in in_batch}
        related = self._relatedness(messages, space, profiles if profiles is not None else {})
        tail_related = None
        if tails is not None and set(self.preamble_view_labels()) & set(self._purpose_labels()):
            tail_related = self._tail_purposes(messages, tails, per_text, profiles if profiles is not None else {})
        analyses = [prepared.unique[i] for i in rows]
        return Features(
            analyses,
            prepared.ngrams,
            prepared.signals,
            rows,
            dense,
            space,
            related,
            self.relatedness_weight,
            tails,
            tail_dense,
            prepared.sounds,
            tail_related,
        )

    def _tail_purposes(
        self,
        messages: Sequence[Message],
        tails: np.ndarray,
        per_text: np.ndarray | SparseRows,
        profiles: MutableMapping[str, GroupProfile],
    ) -> np.ndarray:
        """Relatedness to the purpose of each message's words after its preamble, for the messages
        that have them (the group's own chat is not asked: the message as a whole joins it).

        Why not the whole message's: a greeting names the group's audience (``早上好宝妈们``,
        ``哈喽各位烘焙爱好者``), which is the purpose's vocabulary, and the ad head reads "related to
        the purpose" as "less of an ad"; the offer after it was judged as related as the greeting
        made it. Dev (chat rows + COLD/SWSR dev): ad AP 0.987 -> 0.989 full, 0.980 -> 0.982
        encoder-free, four and two more greeting-wrapped pitches caught, no new false alarm."""
        has = np.flatnonzero(tails >= 0)
        space = _rows_of(per_text, tails[has])
        return self._relatedness([messages[i] for i in has], space, profiles, own_chat=False)

    def _snapshot(self, profile: GroupProfile) -> GroupProfile:
        """A copy to score against without learning; purpose vectors are computed on the original
        first so the copy does not embed the purpose again on every batch."""
        if profile.has_purpose:
            profile.purpose_vectors(self._vectorise_dense)
        return copy.deepcopy(profile)

    def _relatedness(
        self,
        messages: Sequence[Message],
        space,
        profiles: MutableMapping[str, GroupProfile],
        own_chat: bool = True,
    ) -> np.ndarray:
        """Per group, in message order: relatedness to the purpose and, with ``own_chat``, to the
        group's own chat (without it those columns stay 0 and no centroid is read or learnt).

        A record's ``group_topic`` overrides the profile's purpose (a bot may send it per message);
        the group's centroid is shared whatever purpose each record names."""
        out = np.zeros((len(messages), len(RELATEDNESS_NAMES)), dtype=np.float32)
        by_group: dict[str, list[int]] = {}
        for i, m in enumerate(messages):
            by_group.setdefault(m.group, []).append(i)
        per_record = any(m.group_topic for m in messages)  # else every record has its profile's purpose
        for group, idx in by_group.items():
            profile = profiles.setdefault(group, GroupProfile())
            topics = [stated_purpose(messages[i].group_topic, profile) for i in idx] if per_record else [profile.topic]
            if len(set(topics)) == 1:  # the usual case: one purpose for the whole group
                rows = np.asarray(idx)
                out[rows] = relatedness(
                    self._purpose(topics[0], profile), profile if own_chat else None, _rows_of(space, rows)
                )
                continue
            for i, topic in zip(idx, topics, strict=True):
                out[i] = relatedness(
                    self._purpose(topic, profile), profile if own_chat else None, _rows_of(space, np.asarray([i]))
                )[0]
        return out

    def _purpose(self, topic: str, profile: GroupProfile) -> np.ndarray | None:
        """Purpose vectors: the profile's own (topic + examples), or a per-record ``group_topic``'s,
        cached per topic text."""
        if topic == profile.topic:
            return profile.purpose_vectors(self._vectorise_dense) if profile.has_purpose else None
        if not topic:
            return None
        cache = self.__dict__.setdefault("_topic_vectors", {})
        if topic not in cache:
            if len(cache) >= 4096:
                cache.clear()
            cache[topic] = np.asarray(self._vectorise_dense([topic]), dtype=np.float32)
        return cache[topic]

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_topic_vectors", None)  # a cache, and encoder-specific
        state.pop("_head_cache", None)
        state["encoder"] = None  # an encoder holds a runtime session; model files record which one
        return state

    def __deepcopy__(self, memo: dict) -> MessageClassifier:
        """A copy to re-tune or experiment on keeps the *same* encoder: pickling drops it (a runtime
        session), and a copy that silently lost it scored with the wrong feature layout."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(copy.deepcopy(self.__getstate__(), memo))
        clone.encoder = self.encoder
        return clone

    @property
    def group_space(self) -> str:
        """Which vector space group centroids and purposes live in: a saved group state is only
        valid for a model of the same space (same encoder, or hashed n-grams alike), whatever its
        heads."""
        if self.encoder is None:
            return f"ngrams:{NGRAM_FEATURES}"
        return f"encoder:{Path(self.encoder.model).name}:{self.encoder.dim}"

    def _vectorise_dense(self, texts: Sequence[str]) -> np.ndarray:
        """Purpose texts (a handful per group) in the same space as the messages, dense."""
        if self.encoder is not None:
            return self.encoder.encode(list(texts))
        return hash_ngrams([analyze(t, segment=False).deobfuscated for t in texts]).toarray()

    def _head_input(self, label: str, feats: Features) -> sp.csr_matrix:
        base = feats.base(self.reads_sounds(label))
        extra = self._extra_block(label, feats)
        return sp.hstack([base, sp.csr_matrix(extra)], format="csr") if extra.shape[1] else base

    def reads_sounds(self, label: str | None = None) -> bool:
        """Whether ``label``'s head (without one: any head) reads the char n-grams of how a text
        sounds (:mod:`nlp.text.sounds`), right after its char n-grams. Homophones are how insults
        and contact words dodge filters; what a message is about is not in its sounds (dev: the
        off-topic head lost F1 with them). Models saved before them read none."""
        wanted = [x for x in getattr(self, "sound_labels", ()) if x in self.labels]
        return bool(wanted) if label is None else label in wanted

    def _sound_columns(self, label: str) -> int:
        return NGRAM_FEATURES if self.reads_sounds(label) else 0

    def preamble_view_labels(self) -> tuple[str, ...]:
        """Labels also scored on a message's words after its greeting (none in models saved before
        :mod:`nlp.text.preamble`; they score as they were tuned)."""
        return tuple(label for label in getattr(self, "preamble_labels", ()) if label in self.labels)

    def _purpose_labels(self) -> tuple[str, ...]:
        """Labels besides off-topic whose head reads :meth:`_purpose_block` (none in models saved
        before it existed)."""
        return tuple(label for label in getattr(self, "purpose_labels", ()) if label != "offtopic")

    def _purpose_block(self, feats: Features) -> np.ndarray:
        """How much more (or less) related to its group's stated purpose a message is than a
        training message typically was, and exactly 0 where no purpose is known.

        Why the ad head reads it: spam is mostly unrelated to the group it lands in, and selling is
        the topic of a second-hand group but an ad anywhere else. The learnt weight says "more
        related, less of an ad" (dev ad F1 up in both modes), though m3e-small relates a listing to
        ``闲置交易群：二手物品转让与求购`` no more than to other purposes; a trading group's listings
        need ``GroupProfile.examples`` to count as related.

        Centred so that a message of typical relatedness is not shifted, and zero without a purpose
        rather than "unrelated": the public sets and a bot message with no profile must score as
        before, and every ad training row has a purpose while most negatives (COLD, SWSR) do not,
        so a "purpose known" column would learn the data source, not the group."""
        return self._purpose_block_of(feats.related, feats.related_weight)

    def _purpose_block_of(self, related: np.ndarray, weight: float) -> np.ndarray:
        """:meth:`_purpose_block` for any rows of relatedness columns (a message's, or its tail's)."""
        return ((related[:, :2] - self.purpose_centre_) * related[:, 2:3] * weight).astype(np.float32)

    # --------------------------------------------------------------- estimator
    def fit(
        self,
        messages: Sequence[Message],
        y: np.ndarray,
        profiles: Mapping[str, GroupProfile] | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> MessageClassifier:
        """``y``: ``(n, n_labels)`` of 1 / 0 / -1 (unknown for that label). ``sample_weight`` lets a
        few hundred group-chat rows count as much as tens of thousands of public comments."""
        y = np.asarray(y)
        if y.shape != (len(messages), len(self.labels)):
            raise ValueError(f"y must have shape ({len(messages)}, {len(self.labels)}), got {y.shape}")
        feats = self.complete(self.prepare(messages, preambles=False), profiles)
        self.__dict__.pop("_head_cache", None)
        has_purpose = feats.related[:, 2] > 0
        weight_all = np.ones(len(messages)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        self.purpose_centre_ = (
            np.average(feats.related[has_purpose, :2], axis=0, weights=weight_all[has_purpose]).astype(np.float32)
            if has_purpose.any()
            else np.zeros(2, dtype=np.float32)
        )
        self.heads_: dict[str, CalibratedClassifierCV] = {}
        self.n_train_: dict[str, dict[str, int]] = {}
        for j, label in enumerate(self.labels):
            n_ngrams = feats.ngrams.shape[1] + self._sound_columns(label)
            known = y[:, j] != UNKNOWN
            target = y[known, j].astype(int)
            hidden = self._mlp_hidden(label, target)
            folds = self.mlp_calibration_folds if hidden else self.calibration_folds
            fewest = int(min(target.sum(), len(target) - target.sum()))
            if fewest < folds:  # calibration fits on out-of-fold scores: every fold needs both classes
                raise TrainingDataError(
                    f"label {label!r}: {int(target.sum())} positive and {len(target) - int(target.sum())} "
                    f"negative examples; training needs at least {folds} of each"
                )
            head = CalibratedClassifierCV(
                StackedHead(C=self.C, hidden=hidden, dense_from=n_ngrams),
                method="sigmoid",
                # An MLP gains more from the last third of the data than a linear model: calibrated
                # on 3-fold scores, the full-data head was under-confident on dev (ECE 0.087, 0.072
                # with 10 folds; the linear heads' is 0.056 with 3).
                cv=folds,
                ensemble=False,  # one head fit on all rows, Platt-calibrated on out-of-fold scores
            )
            weight = None if sample_weight is None else np.asarray(sample_weight)[known]
            head.fit(self._head_input(label, feats)[known], target, sample_weight=weight)
            self.heads_[label] = head
            self.n_train_[label] = {"positive": int(target.sum()), "negative": int((target == 0).sum())}
        self.thresholds_ = {label: 0.5 for label in self.labels}
        self.block_thresholds_ = {label: 0.9 for label in self.labels}
        self.signal_features_ = list(SIGNAL_FEATURE_NAMES)
        return self

    def check_signal_features(self) -> None:
        """A model fitted by a qunshao that computed other signal features cannot score with these
        (its weights would meet the wrong columns): say so when it is loaded, not as a shape error."""
        trained = getattr(self, "signal_features_", None)  # models saved before this was recorded: unknown
        if trained is not None and list(trained) != list(SIGNAL_FEATURE_NAMES):
            changed = sorted(set(trained) ^ set(SIGNAL_FEATURE_NAMES)) or ["their order"]
            raise ValueError(
                f"this model was trained on {len(trained)} signal features and this qunshao computes "
                f"{len(SIGNAL_FEATURE_NAMES)} (they differ in {', '.join(changed)}): retrain it with `qunshao train`"
            )

    def predict_proba(
        self, messages: Sequence[Message], profiles: Mapping[str, GroupProfile] | None = None
    ) -> np.ndarray:
        return self.predict_proba_features(self.features(messages, profiles))

    def predict_proba_features(self, feats: Features) -> np.ndarray:
        """Calibrated probabilities from precomputed features.

        Each head is a logistic regression (plus, for ``mlp_labels``, an MLP over the dense block)
        followed by a Platt sigmoid, i.e. ``expit(-(a * decision + c))``; computing that directly
        gives the same numbers as ``CalibratedClassifierCV.predict_proba`` without its per-call
        input validation (about 2 ms per head, most of a bot's latency budget)."""
        out = np.zeros((feats.n, len(self.labels)), dtype=np.float32)
        if feats.n == 0:
            return out
        n_chars = feats.ngrams.shape[1]
        for j, label in enumerate(self.labels):
            n_ngrams = n_chars + self._sound_columns(label)
            n_text = n_ngrams + feats.signals.shape[1]
            weights, _, slope, offset, _ = self._head_parts(label)
            expected = (
                n_text + (0 if feats.dense is None else feats.dense.shape[1]) + self._columns_after_embedding(label)
            )
            if len(weights) != expected:
                raise ValueError(
                    f"the {label!r} head was trained on {len(weights)} features but gets {expected}: "
                    "a model trained with a sentence encoder needs that encoder attached (load_classifier does it), "
                    "and one trained by a qunshao with other signal features must be retrained"
                )
            per_text = np.asarray(feats.ngrams @ weights[:n_chars] + feats.signals @ weights[n_ngrams:n_text]).ravel()
            if n_ngrams > n_chars:
                if feats.sounds is None:
                    raise ValueError(
                        f"the {label!r} head reads how texts sound, but these features carry no sound block: "
                        "build them with this model's text_stage() or complete()"
                    )
                per_text += np.asarray(feats.sounds @ weights[n_chars:n_ngrams]).ravel()
            extra = self._extra_block(label, feats)
            decision = self._decision(label, per_text, feats.rows, feats.signals, feats.dense, extra)
            out[:, j] = expit(-(slope * decision + offset))
            if feats.tails is not None and label in self.preamble_view_labels():
                # the words after a greeting, in the same message and group: the higher score stands
                has = feats.tails >= 0
                tail_extra = extra[has]
                if feats.tail_related is not None and label in self._purpose_labels():
                    tail_extra = self._purpose_block_of(feats.tail_related, feats.related_weight)
                tail = self._decision(label, per_text, feats.tails[has], feats.signals, feats.tail_dense, tail_extra)
                out[has, j] = np.maximum(out[has, j], expit(-(slope * tail + offset)))
        return out

    def _extra_block(self, label: str, feats: Features) -> np.ndarray:
        """The columns a head reads after the embedding, per message (none for most labels)."""
        if label == "offtopic":
            return feats.related * feats.related_weight
        if label in self._purpose_labels():
            return self._purpose_block(feats)
        return np.zeros((feats.n, 0), dtype=np.float32)

    def _decision(
        self,
        label: str,
        per_text: np.ndarray,
        texts: np.ndarray,
        signals: np.ndarray,
        dense: np.ndarray | None,
        extra: np.ndarray,
    ) -> np.ndarray:
        """A head's decision (before Platt scaling) for messages read as the distinct ``texts``
        (their n-gram and signal part precomputed in ``per_text``), with their ``dense`` embedding
        and ``extra`` columns."""
        weights, bias, _, _, stacked = self._head_parts(label)
        decision = per_text[texts] + bias
        if dense is not None:
            start = len(weights) - extra.shape[1] - dense.shape[1]
            decision += dense @ weights[start : start + dense.shape[1]]
        if extra.shape[1]:
            decision += extra @ weights[len(weights) - extra.shape[1] :]
        if stacked is not None:
            blocks = [signals[texts]] + ([] if dense is None else [dense]) + [extra]
            decision += stacked.mlp_logit(np.hstack(blocks)) / stacked.mlp_scale_
        return decision

    def _needs_embedding(self) -> bool:
        """Whether the fitted heads read an embedding block (their weights outnumber n-grams, signals
        and the purpose block)."""
        if not hasattr(self, "heads_"):
            return False
        label = self.labels[0]
        text = ngram_vectorizer().n_features + self._sound_columns(label) + len(SIGNAL_FEATURE_NAMES)
        return len(self._head_parts(label)[0]) > text + self._columns_after_embedding(label)

    def _columns_after_embedding(self, label: str) -> int:
        """Columns a head reads after the embedding: relatedness (off-topic) or the purpose block."""
        if label == "offtopic":
            return len(RELATEDNESS_NAMES)
        return len(getattr(self, "purpose_centre_", ())) if label in self._purpose_labels() else 0

    def _mlp_hidden(self, label: str, target: np.ndarray) -> int:
        """An MLP only over a sentence embedding and with enough positives to learn from: with a
        few hundred (the ad head on chat data) it lowered dev PR-AUC; an operator's small
        retraining set keeps linear heads."""
        wanted = label in self.mlp_labels and self.encoder is not None and self.mlp_hidden > 0
        return self.mlp_hidden if wanted and int(target.sum()) >= self.min_mlp_positives else 0

    def _head_parts(self, label: str) -> tuple[np.ndarray, float, float, float, StackedHead | None]:
        """Linear weights and bias (already divided by the head's spread), the Platt slope and
        offset, and the head itself when it has an MLP part."""
        cache = self.__dict__.setdefault("_head_cache", {})
        if label not in cache:
            (calibrated,) = self.heads_[label].calibrated_classifiers_
            (sigmoid,) = calibrated.calibrators
            lr, scale = _linear_part(calibrated.estimator)
            cache[label] = (
                lr.coef_[0].astype(np.float64) / scale,
                float(lr.intercept_[0]) / scale,
                float(sigmoid.a_),
                float(sigmoid.b_),
                calibrated.estimator if self.has_mlp(label) else None,
            )
        return cache[label]

    def has_mlp(self, label: str) -> bool:
        """Whether ``label``'s head has an MLP part (recorded in the manifest)."""
        return getattr(self._estimator(label), "mlp_", None) is not None

    def _estimator(self, label: str) -> StackedHead | LogisticRegression:
        """The fitted head inside the calibration wrapper (one: heads are fit with ``ensemble=False``)."""
        (calibrated,) = self.heads_[label].calibrated_classifiers_
        return calibrated.estimator

    def predict(self, messages: Sequence[Message], profiles: Mapping[str, GroupProfile] | None = None) -> np.ndarray:
        """Boolean ``(n, n_labels)``: :meth:`decide` applied to every row."""
        return self.decide_matrix(self.predict_proba(messages, profiles))

    def decide(self, scores: Sequence[float]) -> list[str]:
        """The labels of one row of scores (:meth:`decide_matrix`)."""
        return self.decide_rows(np.asarray([scores], dtype=np.float64))[0]

    def decide_matrix(self, proba: np.ndarray) -> np.ndarray:
        """Boolean ``(n, n_labels)``, in one numpy pass: labels whose score reaches its threshold.
        Off-topic means idle chatter, so an ad or an insult is not also reported as chatter: an
        admin acts on the ad or the abuse, and a second label on it is noise (dev error analysis:
        most off-topic false alarms were insults). The scores stay independent; only the reported
        labels follow this rule."""
        proba = np.asarray(proba, dtype=np.float64)
        flagged = proba >= np.array([self.thresholds_[label] for label in self.labels])
        if "offtopic" in self.labels:
            acted_on = [self.labels.index(label) for label in ("ad", "negativity") if label in self.labels]
            if acted_on:
                flagged[:, self.labels.index("offtopic")] &= ~flagged[:, acted_on].any(axis=1)
        return flagged

    def decide_rows(self, proba: np.ndarray) -> list[list[str]]:
        """:meth:`decide_matrix` as label names (a batch's verdicts): one numpy pass, then each row's labels
        from the few combinations that occur; every row gets its own list (verdicts edit them)."""
        flagged = self.decide_matrix(proba)
        codes = flagged @ (1 << np.arange(len(self.labels)))
        names: dict[int, list[str]] = {}
        for code in np.unique(codes).tolist():
            names[code] = [label for j, label in enumerate(self.labels) if code >> j & 1]
        return [names[code].copy() for code in codes.tolist()]

    def tune_thresholds(
        self,
        proba: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        priors: Mapping[str, float] | None = None,
        labels: Sequence[str] | None = None,
    ) -> MessageClassifier:
        """Per label (``labels``: only these; the others keep theirs): the threshold whose
        neighbourhood (``threshold_window`` either side) has the best mean (weighted) F1 on dev (the
        middle of a tie); the block threshold is the lowest one
        whose dev precision reaches ``block_precision``, never below the review threshold nor below
        ``min_block_score``: blocking is automatic, so a small dev set with perfect precision at a
        low score must not make a 0.15 score block.

        ``priors`` ({label: expected share of positives in real chat}) reweights dev so positives
        make up that share: a dev set that is a quarter ads would otherwise pick thresholds that
        flag far too much of a real group's chat, where ads are a few percent.

        Why a neighbourhood and not the best single point: after the chat/public balance and the
        prior reweighting one chat message weighs as much as dozens of public rows, and the F1 curve
        is a comb of such steps; adding 38 rows to dev moved the ad threshold 0.555 -> 0.75 on one
        message. Models saved before ``threshold_window`` existed keep the single-point rule.

        Why ``threshold_tie``: on 60 bootstrap resamples of dev, thresholds chosen within 0.02 of the
        best windowed F1 moved less (s.d. of the full model's ad threshold 0.074 -> 0.045, of the
        encoder-free negativity threshold 0.068 -> 0.049; the other two about the same) and did as
        well or a little better on the rows each resample left out (mean F1 up 0.001-0.006 for all
        four)."""
        grid = np.linspace(0.05, 0.95, 91)
        half = round(getattr(self, "threshold_window", 0.0) / (grid[1] - grid[0]))
        weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        for j, label in enumerate(self.labels):
            if labels is not None and label not in labels:
                continue
            known = y[:, j] != UNKNOWN
            if not known.any():  # nothing on dev says anything about this label: keep its thresholds
                continue
            truth, scores, w = y[known, j].astype(int), proba[known, j], weights[known].copy()
            if priors and label in priors and 0 < truth.sum() < len(truth):
                prior = priors[label]
                pos = truth == 1
                w[pos] *= prior / (1 - prior) * w[~pos].sum() / w[pos].sum()
            f1s = np.array([f1_score(truth, scores >= t, sample_weight=w, zero_division=0) for t in grid])
            if half:  # mean over the window, the edges repeated so the ends are not favoured
                padded = np.pad(f1s, half, mode="edge")
                f1s = np.convolve(padded, np.ones(2 * half + 1) / (2 * half + 1), mode="valid")
            # Where dev separates a label perfectly, a whole range of thresholds ties: take the middle
            # of the range, not its lowest edge, so unseen data has margin on both sides. Within
            # ``threshold_tie`` of the best F1 counts as a tie: the curve's plateau is uneven by a few
            # rows (ads: 0.906-0.912 from 0.35 to 0.55), and its highest point moved between refits.
            tied = grid[f1s >= f1s.max() - getattr(self, "threshold_tie", 0.0) - 1e-9]
            review = float(np.median(tied))
            block = 0.95
            for t in grid[grid >= review]:
                flagged = scores >= t
                if flagged.sum() >= 3 and np.average(truth[flagged], weights=w[flagged]) >= self.block_precision:
                    block = float(t)
                    break
            self.thresholds_[label] = round(review, 3)
            self.block_thresholds_[label] = round(max(block, review, self.min_block_score), 3)
        return self

    def suggestion(self, scores: Sequence[float]) -> str:
        """The suggestion for one row of scores (:meth:`suggestions`)."""
        return self.suggestions(np.asarray([scores], dtype=np.float64))[0]

    def suggestions(self, proba: np.ndarray) -> list[str]:
        """Per row, in one numpy pass: ``block`` when an ad or negativity score passes its block
        threshold, ``review`` when any label is flagged, else ``pass``. Off-topic chatter alone
        never blocks."""
        proba = np.asarray(proba, dtype=np.float64)
        review = (proba >= np.array([self.thresholds_[label] for label in self.labels])).any(axis=1)
        blocks = np.array([self.block_thresholds_[label] if label != "offtopic" else np.inf for label in self.labels])
        block = (proba >= blocks).any(axis=1)
        return np.where(block, "block", np.where(review, "review", "pass")).tolist()

    def ngram_weights(self, label: str) -> np.ndarray:
        """Logistic-regression weight of each hashed n-gram for ``label`` (for reasons)."""
        lr, _ = _linear_part(self._estimator(label))
        return lr.coef_[0][: ngram_vectorizer().n_features]

    def sound_weights(self, label: str) -> np.ndarray | None:
        """Weight of each hashed n-gram of how a text sounds for ``label`` (None: the head reads no
        sounds), for reasons: the columns right after :meth:`ngram_weights`."""
        if not self.reads_sounds(label):
            return None
        lr, _ = _linear_part(self._estimator(label))
        return lr.coef_[0][NGRAM_FEATURES : 2 * NGRAM_FEATURES]


def _with_tails(texts: list[str], index: dict[str, int]) -> tuple[np.ndarray, list[str]]:
    """Per text, the index of its words after a preamble among ``texts`` extended with them (-1:
    none). ``index`` maps texts to their place (the de-duplicated batch's own map, extended here;
    empty without de-duplication): a remainder already in it is not added again."""
    tails = np.full(len(texts), -1, dtype=np.intp)
    extended = list(texts)
    for i, text in enumerate(texts):
        rest = after_preamble(text)
        if rest is None:
            continue
        if rest not in index:
            index[rest] = len(extended)
            extended.append(rest)
        tails[i] = index[rest]
    if len(extended) > len(texts):
        tails = np.concatenate([tails, np.full(len(extended) - len(texts), -1, dtype=np.intp)])
    return tails, extended


def _rows_of(space: np.ndarray | SparseRows, rows: np.ndarray) -> np.ndarray | SparseRows:
    return space.take(rows) if isinstance(space, SparseRows) else space[rows]


def _linear_part(head: StackedHead | LogisticRegression) -> tuple[LogisticRegression, float]:
    """A head's logistic regression and the spread its decision is divided by; models saved before
    heads could carry an MLP (manifest format 1) hold a bare ``LogisticRegression``."""
    if isinstance(head, LogisticRegression):
        return head, 1.0
    return head.lr_, head.lr_scale_

"""The recipe that builds a classifier: which data, how it is weighted, how thresholds are chosen.

Data: the team's group-chat data (``data/labelled``; its conversations, ``data/topics/train.yaml``
woven with ``chatter_train.yaml``, in time order) and an operator's own labelled files, plus,
when ``public_data`` points at ``../shared/data/train``, COLD and SWSR (negativity) and LCCC
casual dialogue (off-topic chatter). Chat rows are few but are the domain we serve, so the chat rows
together weigh ``chat_weight`` times the public rows. Thresholds are tuned on dev with the same
balance. ``../shared/data/eval`` is never read here.

Off-topic is learnt in the three situations scoring meets: a message whose group purpose is known
and whose group-mates are in the batch, one with group-mates but no stated purpose (the fallback to
the group's own chat), and one with a purpose but no group-mates (a bot's single message).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

from nlp.classify.classifier import LABELS, SOUND_LABELS, UNKNOWN, MessageClassifier
from nlp.embed import Encoder
from nlp.io import Message
from nlp.train.datasets import (
    LabelledSet,
    group_topics,
    load_cold,
    load_conversations,
    load_labelled,
    load_lccc_chitchat,
    load_swsr,
)

if TYPE_CHECKING:
    from nlp.pipeline import Verdict

ROOT = Path(__file__).resolve().parents[2]
CHAT_TRAIN = ROOT / "data" / "labelled" / "chat_train.jsonl"
CHAT_DEV = ROOT / "data" / "labelled" / "chat_dev.jsonl"
# Dev conversations: on-topic discussions woven with chatter threads (scripts/evaluate_threads.py)
TIMELINES_DEV = (ROOT / "data" / "topics" / "dev.yaml", ROOT / "data" / "labelled" / "chatter_dev.yaml")
# Train conversations: the same kind of timelines, for four other kinds of group
CONVERSATIONS_TRAIN = (ROOT / "data" / "topics" / "train.yaml", ROOT / "data" / "labelled" / "chatter_train.yaml")
OFFTOPIC = LABELS.index("offtopic")


@dataclass
class Recipe:
    train_files: list[Path] = field(default_factory=lambda: [CHAT_TRAIN])
    # (discussions, chatter threads) pairs of conversations trained on as they read in a live group
    # (each message after its group's earlier ones); see load_conversations
    train_conversations: list[tuple[Path, Path]] = field(default_factory=lambda: [CONVERSATIONS_TRAIN])
    dev_files: list[Path] = field(default_factory=lambda: [CHAT_DEV])
    public_data: Path | None = None
    encoder: str | None = "m3e-small"
    chat_weight: float = 2.0  # dev: own-chat negativity F1 0.68 at 0.5, 0.90 at 2, 0.92 at 5; COLD dev 0.89 -> 0.83
    # LCCC turns as chatter: dev (off-topic head alone, full model) chat F1 (AP) / conversations F1 (AP)
    # 0.800 (0.880) / 0.783 (0.868) at 1500, 0.830 (0.892) / 0.815 (0.886) at 500, 0.830 (0.900) /
    # 0.829 (0.895) at 250; social-media dialogue taught "a conversational reply is chatter" (eval-notes)
    lccc_turns: int = 250
    # COLD comments about prejudice say nothing on negativity (train and dev); see datasets.PREJUDICE_TALK
    cold_prejudice_talk_unknown: bool = True
    C: float = 4.0
    # Expected share of each label in a real group's chat, for threshold tuning (an assumption an
    # operator can change): the sample archive, read by hand, has ~3% ads, ~6% hostile messages
    # and ~25% idle chatter. Without it dev (a quarter ads) picked thresholds that flagged 91 of 263
    # sample messages, many of them on-topic questions.
    priors: dict[str, float] = field(default_factory=lambda: {"ad": 0.05, "negativity": 0.05, "offtopic": 0.25})
    # which dev rows choose negativity's review threshold: "chat" (the group-chat rows) or "all"
    # (with COLD and SWSR dev); see tune_thresholds
    negativity_threshold_on: Literal["chat", "all"] = "chat"
    # (discussions, chatter threads) pairs of dev timelines whose verdicts, as the pipeline gives
    # them in conversation, join the dev rows in choosing the ad thresholds (every timeline message
    # is a member's own, none an ad) and off-topic's; see tune_on_timelines
    dev_timelines: list[tuple[Path, Path]] = field(default_factory=lambda: [TIMELINES_DEV])
    # which heads to train: an operator whose data labels only negativity trains only that head
    # (the model then reports only negativity); every label needs examples of both classes
    labels: tuple[str, ...] = LABELS
    # heads that also read the char n-grams of how each text sounds (nlp.text.sounds): homophones.
    # None: ad and negativity with an encoder, none without. dev, F1 / PR-AUC all rows (chat rows),
    # full model: ad 0.934 / 0.985 -> 0.951 / 0.987 (chat 0.942 -> 0.956), negativity 0.845 / 0.921
    # -> 0.847 / 0.922 (chat 0.869 -> 0.876); off-topic lost F1 with them (encoder-free 0.821 ->
    # 0.780). Encoder-free they gained less on dev (ad 0.932 -> 0.945, negativity 0.825 -> 0.829)
    # and cost 12% of its throughput, below its benchmark bar (docs/eval-notes.md)
    sound_labels: tuple[str, ...] | None = None


def balance_weights(data: LabelledSet, chat_weight: float) -> np.ndarray:
    """Chat rows (the team's and the operator's) together weigh ``chat_weight`` x the public rows."""
    public_prefixes = ("cold_", "swsr_", "lccc")
    is_public = np.array([s.startswith(public_prefixes) for s in data.sources])
    weights = np.ones(len(data), dtype=np.float64)
    if is_public.any() and (~is_public).any():
        weights[~is_public] = chat_weight * is_public.sum() / (~is_public).sum()
    return weights


def offtopic_views(data: LabelledSet) -> LabelledSet:
    """Two extra copies of chat rows that know their off-topic label: without a stated purpose, and
    alone in their group. The copies teach only the off-topic head (other labels unknown)."""
    keep = [i for i, row in enumerate(data.y) if row[OFFTOPIC] != UNKNOWN]
    no_purpose = [dataclasses.replace(data.messages[i], group_topic=None) for i in keep]
    alone = [dataclasses.replace(data.messages[i], group=f"{data.messages[i].group}#solo{i}") for i in keep]
    y = np.full((len(keep), len(LABELS)), UNKNOWN, dtype=np.int8)
    y[:, OFFTOPIC] = data.y[keep, OFFTOPIC]
    views = LabelledSet(no_purpose + alone, np.vstack([y, y]), [f"{data.sources[i]}:view" for i in keep] * 2)
    return data + views


def offtopic_not_applicable(data: LabelledSet) -> LabelledSet:
    """Ads and abuse are judged by their own heads; whether they are also "chatter" is not a question
    the off-topic head should learn (dev: without this it learnt "not on-topic and not chatter" and
    scored insults as chatter). The classifier drops ``offtopic`` when ``ad`` fires."""
    y = data.y.copy()
    flagged = (y[:, LABELS.index("ad")] == 1) | (y[:, LABELS.index("negativity")] == 1)
    y[flagged, OFFTOPIC] = UNKNOWN
    return LabelledSet(data.messages, y, data.sources)


def training_sets(recipe: Recipe) -> tuple[LabelledSet, LabelledSet]:
    train = LabelledSet()
    for path in recipe.train_files:
        train = train + load_labelled(path)
    for discussions, chatter in recipe.train_conversations:
        train = train + load_conversations(discussions, chatter)
    dev = LabelledSet()
    for path in recipe.dev_files:
        dev = dev + load_labelled(path)
    if recipe.public_data is not None:
        root = Path(recipe.public_data)
        train = (
            train
            + load_cold(root / "cold", "train", prejudice_talk_unknown=recipe.cold_prejudice_talk_unknown)
            + load_swsr(root / "swsr", "train")
            + load_lccc_chitchat(root / "lccc", group_topics(train), recipe.lccc_turns)
        )
        cold_dev = load_cold(root / "cold", "dev", prejudice_talk_unknown=recipe.cold_prejudice_talk_unknown)
        dev = dev + cold_dev + load_swsr(root / "swsr", "dev")
    return offtopic_views(offtopic_not_applicable(train)), offtopic_not_applicable(dev)


def reliability(truth: np.ndarray, scores: np.ndarray, bins: int = 10) -> dict:
    """How far the scores are from frequencies: per equal-width score bin the messages, their mean
    score and the share that is truly positive; ECE (bin-weighted mean gap) and the Brier score.
    A calibrated 0.7 should be right about 70% of the time: the suggestion thresholds and the
    conflict monitor read scores as probabilities."""
    truth = truth.astype(float)
    index = np.minimum((scores * bins).astype(int), bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        members = index == b
        if not members.any():
            continue
        mean_score, share = float(scores[members].mean()), float(truth[members].mean())
        ece += members.mean() * abs(mean_score - share)
        table.append(
            {"from": b / bins, "n": int(members.sum()), "mean_score": round(mean_score, 3), "positive": round(share, 3)}
        )
    return {"ece": round(float(ece), 4), "brier": round(float(np.mean((scores - truth) ** 2)), 4), "bins": table}


def label_metrics(
    y: np.ndarray, proba: np.ndarray, decided: np.ndarray, labels: Sequence[str] = LABELS
) -> dict[str, dict[str, Any]]:
    """Precision, recall, F1 and the confusion counts of the model's decisions, PR-AUC of its scores
    and their calibration (:func:`reliability`), per label (the columns, in order), on rows that
    know the label."""
    out = {}
    for j, label in enumerate(labels):
        known = y[:, j] != UNKNOWN
        if not known.any() or len(set(y[known, j])) < 2:
            continue
        truth, scores = y[known, j], proba[known, j]
        pred = decided[known, j]
        positive = truth == 1
        out[label] = {
            "n": int(known.sum()),
            "positives": int(truth.sum()),
            "precision": round(float(precision_score(truth, pred, zero_division=0)), 4),
            "recall": round(float(recall_score(truth, pred, zero_division=0)), 4),
            "f1": round(float(f1_score(truth, pred, zero_division=0)), 4),
            "pr_auc": round(float(average_precision_score(truth, scores)), 4),
            "tp": int((pred & positive).sum()),
            "fp": int((pred & ~positive).sum()),
            "fn": int((~pred & positive).sum()),
            "tn": int((~pred & ~positive).sum()),
        }
        calibration = reliability(truth, scores)
        out[label] |= {"ece": calibration["ece"], "brier": calibration["brier"], "reliability": calibration["bins"]}
    return out


def tune_thresholds(
    clf: MessageClassifier, dev: LabelledSet, proba: np.ndarray, chat_rows: np.ndarray, recipe: Recipe
) -> None:
    """Thresholds on dev at the recipe's priors; negativity's review threshold on the chat rows
    alone when ``recipe.negativity_threshold_on`` is ``"chat"``.

    Why: the public dev rows (COLD's and SWSR's forum comments on race, gender and region) are
    negatives of another kind than a group's chat, and reweighted to a 5% prior they outweighed the
    chat rows and left the objective flat from 0.60 to 0.75 (weighted F1 0.686-0.690); the tuner
    took 0.75, where chat dev caught 62% of its insults at 97% precision and where COLD dev's own
    accuracy was lower (0.865) than at 0.55-0.60 (0.90). The public rows still pick the block
    threshold (automatic blocking wants the larger sample) and every other label's (ads: a forum
    comment is as much "not an ad" as a chat line)."""
    weights = balance_weights(dev, recipe.chat_weight)
    clf.tune_thresholds(proba, dev.y, sample_weight=weights, priors=recipe.priors)
    if recipe.negativity_threshold_on != "chat" or not chat_rows.any() or "negativity" not in dev.labels:
        return
    column = dev.labels.index("negativity")
    on_chat = np.full_like(dev.y, UNKNOWN)
    on_chat[chat_rows, column] = dev.y[chat_rows, column]
    block = clf.block_thresholds_["negativity"]
    clf.tune_thresholds(proba, on_chat, sample_weight=weights, priors=recipe.priors, labels=["negativity"])
    clf.block_thresholds_["negativity"] = max(block, clf.thresholds_["negativity"])


def timeline_verdicts(clf: MessageClassifier, timelines: list[tuple[Path, Path]]) -> list[tuple[Message, Verdict]]:
    """Dev timelines scored as :class:`~nlp.pipeline.Pipeline` scores a live group (each group's
    purpose known, replies mixed with their parents), each with a fresh pipeline."""
    from nlp.pipeline import Pipeline
    from nlp.topics.dataset import load_topic_chats

    out: list[tuple[Message, Verdict]] = []
    for discussions, chatter in timelines:
        messages = load_topic_chats(discussions, chatter=chatter)
        out += zip(messages, Pipeline(clf).score(messages), strict=True)
    return out


def timeline_scores(clf: MessageClassifier, timelines: list[tuple[Path, Path]]) -> tuple[np.ndarray, np.ndarray]:
    """Off-topic scores of dev timelines (:func:`timeline_verdicts`), 0 where ad or negativity is
    reported (the pipeline then never reports chatter), and the gold chatter flags."""
    scores, gold = [], []
    for message, verdict in timeline_verdicts(clf, timelines):
        other = "ad" in verdict.labels or "negativity" in verdict.labels
        scores.append(0.0 if other else verdict.scores["offtopic"])
        gold.append(bool(message.fields["offtopic"]))
    return np.array(scores, dtype=np.float32), np.array(gold, dtype=np.int8)


def tune_on_timelines(
    clf: MessageClassifier, dev: LabelledSet, proba: np.ndarray, chat_rows: np.ndarray, recipe: Recipe
) -> dict[str, dict[str, float]] | None:
    """The ad thresholds, then off-topic's, with the dev conversations (``recipe.dev_timelines``)
    joining the dev rows; ad first, since a message reported as an ad is never chatter. Returns
    what the timelines get at the chosen thresholds (None without timelines)."""
    if not recipe.dev_timelines:
        return None
    tuners = {"ad": tune_ad_on_timelines, "offtopic": tune_offtopic_on_timelines}
    return {label: tune(clf, dev, proba, chat_rows, recipe) for label, tune in tuners.items() if label in dev.labels}


def tune_ad_on_timelines(
    clf: MessageClassifier, dev: LabelledSet, proba: np.ndarray, chat_rows: np.ndarray, recipe: Recipe
) -> dict[str, float]:
    """The ad review threshold on every dev row *and* every dev timeline message, the latter all
    negatives (members talking in their group; no timeline holds an ad).

    Why: dev's ads are a quarter of its chat rows and nearly all separable, so the ad threshold sits
    in a wide tie and moves with a few rows (a thirteenth data batch moved it 0.48 -> 0.35 on one
    dev ad), while what it costs in a group is members' short advice flagged as an ad
    (`二十分钟就够，定闹钟` 0.44): 2 -> 5 of the 302 dev timeline messages at 0.35. Each timeline message
    weighs as much as a chat dev row. The block threshold stays the dev rows' choice."""
    scores = np.array([v.scores["ad"] for _, v in timeline_verdicts(clf, recipe.dev_timelines)], dtype=np.float32)
    every_row = np.ones(len(dev), dtype=bool)
    rows = _with_timelines("ad", dev, proba, every_row, chat_rows, scores, np.zeros(len(scores)), recipe)
    block = clf.block_thresholds_["ad"]
    clf.tune_thresholds(*rows, priors=recipe.priors, labels=["ad"])
    # Blocking stays the dev rows' call: the timelines hold no ad, so they say nothing about what a
    # sure one looks like (at a fixed prior their clean rows would only lower the block threshold).
    clf.block_thresholds_["ad"] = max(block, clf.thresholds_["ad"])
    return {"messages": len(scores), "flagged": int((scores >= clf.thresholds_["ad"]).sum())}


def tune_offtopic_on_timelines(
    clf: MessageClassifier, dev: LabelledSet, proba: np.ndarray, chat_rows: np.ndarray, recipe: Recipe
) -> dict[str, float] | None:
    """Off-topic's review threshold on the chat dev rows *and* dev conversations together.

    Why: the chat dev rows are single messages, but scoring meets messages in conversation, where a
    reply borrows its parent's off-topic score (:mod:`nlp.classify.thread`) and short on-topic
    replies abound. Chosen on the flat rows alone the threshold was 0.15 (full model) and the
    sample archive had `请问第三课的录播在哪里看呀` flagged as chatter; the dev timelines' own best
    was near 0.25. Each timeline message weighs as much as a chat dev row. Returns the timelines'
    precision / recall / F1 at the chosen threshold (None without timelines)."""
    if not recipe.dev_timelines:
        return None
    scores, gold = timeline_scores(clf, recipe.dev_timelines)
    rows = _with_timelines("offtopic", dev, proba, chat_rows, chat_rows, scores, gold, recipe)
    clf.tune_thresholds(*rows, priors=recipe.priors, labels=["offtopic"])
    said = scores >= clf.thresholds_["offtopic"]
    return {
        "messages": len(gold),
        "chatter": int(gold.sum()),
        "precision": round(float(precision_score(gold, said, zero_division=0)), 4),
        "recall": round(float(recall_score(gold, said, zero_division=0)), 4),
        "f1": round(float(f1_score(gold, said, zero_division=0)), 4),
    }


def _with_timelines(
    label: str,
    dev: LabelledSet,
    proba: np.ndarray,
    rows: np.ndarray,
    chat_rows: np.ndarray,
    scores: np.ndarray,
    gold: np.ndarray,
    recipe: Recipe,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(proba, y, sample_weight)`` for :meth:`MessageClassifier.tune_thresholds`: the chosen dev
    ``rows`` followed by the timeline messages (``scores``, ``gold``), ``label`` only (the others
    unknown), each timeline message weighing as much as a chat dev row."""
    column = dev.labels.index(label)
    weights = balance_weights(dev, recipe.chat_weight)
    chat_weight = float(weights[chat_rows].mean()) if chat_rows.any() else 1.0
    n = int(rows.sum())
    y = np.full((n + len(gold), len(dev.labels)), UNKNOWN, dtype=np.int8)
    y[:n, column] = dev.y[rows, column]
    y[n:, column] = gold
    both = np.zeros(y.shape, dtype=np.float32)
    both[:n, column] = proba[rows, column]
    both[n:, column] = scores
    return both, y, np.concatenate([weights[rows], np.full(len(gold), chat_weight)])


def train(recipe: Recipe, say=print) -> tuple[MessageClassifier, dict]:
    """Fit on train, tune thresholds on dev; returns the classifier and a report for the manifest."""
    started = time.time()
    train_set, dev_set = (labelled.only(recipe.labels) for labelled in training_sets(recipe))
    say(f"train rows {len(train_set)}, dev rows {len(dev_set)}; encoder {recipe.encoder or 'none (encoder-free)'}")
    encoder = Encoder(recipe.encoder) if recipe.encoder else None
    sounds = recipe.sound_labels if recipe.sound_labels is not None else SOUND_LABELS if encoder is not None else ()
    clf = MessageClassifier(encoder=encoder, labels=recipe.labels, C=recipe.C, sound_labels=sounds)
    clf.fit(train_set.messages, train_set.y, sample_weight=balance_weights(train_set, recipe.chat_weight))
    dev_proba = clf.predict_proba(dev_set.messages)
    chat_rows = np.array([not s.startswith(("cold_", "swsr_")) for s in dev_set.sources])
    tune_thresholds(clf, dev_set, dev_proba, chat_rows, recipe)
    timelines = tune_on_timelines(clf, dev_set, dev_proba, chat_rows, recipe)
    report = {
        "recipe": {
            "train_files": [_relative(p) for p in recipe.train_files],
            "train_conversations": [[_relative(p) for p in pair] for pair in recipe.train_conversations],
            "public_data": "COLD train, SWSR train (seeded thread split), LCCC toy_train"
            if recipe.public_data
            else None,
            "chat_weight": recipe.chat_weight,
            "lccc_turns": recipe.lccc_turns if recipe.public_data else 0,
            "cold_prejudice_talk_unknown": recipe.cold_prejudice_talk_unknown if recipe.public_data else None,
            "threshold_priors": recipe.priors,
            "negativity_threshold_on": recipe.negativity_threshold_on,
            "dev_timelines": [[_relative(p) for p in pair] for pair in recipe.dev_timelines],
        },
        "training_data": train_set.summary(),
        "dev_metrics": {
            "all": label_metrics(dev_set.y, dev_proba, clf.decide_matrix(dev_proba), clf.labels),
            "chat_only": label_metrics(
                dev_set.y[chat_rows], dev_proba[chat_rows], clf.decide_matrix(dev_proba[chat_rows]), clf.labels
            ),
            "timelines": timelines,
        },
        "train_seconds": round(time.time() - started, 1),
    }
    return clf, report


def _relative(path: Path) -> str:
    path = Path(path)
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)

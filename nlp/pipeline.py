"""``Pipeline``: the one object the CLI, the HTTP service and a bot's Python code call.

It loads the model once, scores batches (``score``) or single messages (``score_one``), turns
probabilities into labels, a ``block``/``review``/``pass`` suggestion and Chinese reasons, and keeps
per-group profiles learning from the chat it sees (the running centroid behind off-topic when a
group has no stated purpose). Nothing below it knows about files or HTTP.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from nlp.classify import GroupProfile, MessageClassifier
from nlp.classify.broadcast import DEFAULT_BROADCAST_RULE, BroadcastMemory, BroadcastRule
from nlp.classify.classifier import Prepared
from nlp.classify.features import TextBlock, is_acknowledgement, is_greeting
from nlp.classify.model_files import DEFAULT_MODEL_DIR, load_classifier
from nlp.classify.occlusion import DEFAULT_OCCLUSION, Occlusion, occlusion_terms
from nlp.classify.profile import admin_moderation, allows_ad, stated_purpose
from nlp.classify.reasons import (
    explain_mode,
    placed,
    placed_in,
    reasons_for,
    top_terms,
    top_terms_of_batch,
    weight_ranks,
)
from nlp.classify.thread import DEFAULT_THREAD_CONTEXT, ThreadContext, ThreadMemory
from nlp.classify.words import WORD_LABELS, top_words
from nlp.embed import Encoder
from nlp.gc_policy import use_batch_thresholds
from nlp.io import Message
from nlp.text import TextAnalysis, nothing_to_judge


def _exit_with_parent(parent: int, every: float = 1.0) -> None:
    """In a text-stage process: exit when the process that started it is gone. A scoring job killed
    with ``kill -9`` cannot shut its pool down, and its workers, holding both ends of their task
    queue, would otherwise wait forever (a few hundred MB each) while ``--resume`` starts new ones.
    The process does batch work only, so it collects garbage as one (:mod:`nlp.gc_policy`)."""
    use_batch_thresholds()

    def watch() -> None:
        while True:
            time.sleep(every)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="qunshao-parent-watch", daemon=True).start()


def rounded_scores(proba: np.ndarray) -> np.ndarray:
    """``round(p, 4)`` of every score, exactly as Python's ``round`` gives it (the output contract's
    four decimals), in one numpy pass: ``round`` per score cost a microsecond, 4% of an
    encoder-free run. Python rounds the exact binary value; ``rint`` of the product ``p * 10**4``
    (off by under 1e-11 for a probability) agrees except where the product lies within 1e-6 of a
    half, and those few go through ``round``. Dividing the integer by 10**4 then gives the double
    nearest the decimal, as ``round`` does."""
    scaled = proba * 10_000
    out = np.rint(scaled) / 10_000
    for i, j in zip(*np.nonzero(np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6), strict=True):
        out[i, j] = round(float(proba[i, j]), 4)
    return out


@dataclass(frozen=True)
class Verdict:
    """What qunshao says about one message (the ``score`` output contract of DESIGN.md)."""

    id: str
    labels: list[str]
    scores: dict[str, float]
    suggestion: str
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"labels": self.labels, "scores": self.scores, "suggestion": self.suggestion, "reasons": self.reasons}


# The reason a message flagged as chatter because the message it answers is chatter gets
CONTINUES_CHATTER = "接着群里的闲聊说（所回复的消息也判为闲聊）"


@dataclass(frozen=True)
class _Batch:
    """A batch after the text stage: all its messages, and which of them have words to judge."""

    messages: list[Message]
    judged: list[int]
    prepared: Prepared


@dataclass
class PipelineState:
    """What a pipeline has learnt from the chat it saw (small, picklable): each group's profile,
    and the members' recent copies across groups (:mod:`nlp.classify.broadcast`)."""

    profiles: dict[str, GroupProfile]
    broadcasts: BroadcastMemory
    space: str = ""  # the classifier's ``group_space`` the centroids were learnt in ("": not recorded)


class Pipeline:
    """The model loaded once, scoring batches, streams and single messages.

    ``model`` is a model directory or a fitted :class:`MessageClassifier`; ``encoder``, ``device``,
    ``backend`` and ``vector_cache`` choose how sentence vectors are made (see
    :func:`~nlp.classify.model_files.load_classifier`); ``profiles`` are the groups' purposes, and
    ``learn_groups`` lets their running centroids follow the chat. ``dedup=False`` scores repeats
    again (same verdicts; for measuring). ``thread_context`` judges a reply's off-topic score with
    the message it answers (:mod:`nlp.classify.thread`; ``None``: each message alone), and
    ``broadcast`` raises the ad score of one member's same text posted to many groups
    (:mod:`nlp.classify.broadcast`; ``None``: off). ``explain`` is how a reason finds the words it
    quotes (:data:`~nlp.classify.reasons.EXPLAIN_CHOICES`: ``grams``, ``words``,
    ``occlusion`` with the settings ``occlusion``; ``auto``: words with a sentence encoder, grams
    without one).
    ``text_workers`` moves the text stage of :meth:`score_stream` into that many processes
    (``"auto"``: one per core where the text stage bounds the run). It is off by default in Python
    because spawned processes re-import the caller's main module, which must then guard its work
    with ``if __name__ == "__main__"``; ``qunshao score`` uses ``auto``.
    """

    text_processes_after = 20_000  # messages through score_stream before text_workers processes start

    def __init__(
        self,
        model: str | Path | MessageClassifier = DEFAULT_MODEL_DIR,
        encoder: Encoder | str | None = "auto",
        profiles: Mapping[str, GroupProfile] | None = None,
        learn_groups: bool = True,
        device: str = "auto",
        backend: str = "auto",
        dedup: bool = True,
        vector_cache: str | Path | None = None,
        text_workers: int | Literal["auto"] = 0,
        thread_context: ThreadContext | None = DEFAULT_THREAD_CONTEXT,
        broadcast: BroadcastRule | None = DEFAULT_BROADCAST_RULE,
        explain: str = "auto",
        occlusion: Occlusion = DEFAULT_OCCLUSION,
    ) -> None:
        self.classifier = (
            model
            if isinstance(model, MessageClassifier)
            else load_classifier(model, encoder, device, backend, vector_cache)
        )
        self.profiles: dict[str, GroupProfile] = dict(profiles or {})
        self.learn_groups = learn_groups
        self.dedup = dedup
        self.thread_context = thread_context
        self.broadcast = broadcast
        self.explain = explain_mode(explain, self.classifier.encoder is not None)
        self.occlusion = occlusion
        self._broadcasts = BroadcastMemory()
        self.text_workers = self._resolve_text_workers(text_workers)
        self._text_pool: ProcessPoolExecutor | None = None
        self._pool_started: list[Future[TextBlock]] = []
        self._pool_lock = threading.Lock()
        self._text_seen = 0
        self._lock = threading.Lock()
        self._weights = {label: self.classifier.ngram_weights(label) for label in self.classifier.labels}
        self._sound_weights = {label: self.classifier.sound_weights(label) for label in self.classifier.labels}
        self._ranks: dict[str, np.ndarray] = {}  # weight_ranks of a head, on its first flagged batch
        self._terms_cache: OrderedDict[tuple[str, str], list[tuple[str, int]]] = OrderedDict()
        self._terms_lock = threading.Lock()

    def score(self, messages: Sequence[Message]) -> list[Verdict]:
        """Verdicts in input order. Thread-safe: group profiles are updated under a lock."""
        if not messages:
            return []
        return self._finish(self._prepare(list(messages), self.classifier.text_stage()))

    def score_stream(self, batches: Iterable[Sequence[Message]]) -> Iterator[tuple[list[Message], list[Verdict]]]:
        """Score batches as they come, preparing the next batches (text analysis, tokenisation) while
        the model runs on this one; yields each batch with its verdicts, in order.

        The text stage runs in a worker thread, or with ``text_workers`` in that many processes
        (one batch each): pure-Python text work holds the GIL, so a thread only overlaps it with
        the model's native code, while processes use the other cores (encoder-free mode and GPU
        hosts are bound by it). Verdicts are the same as :meth:`score` on each batch, or on all
        messages at once: nothing a message gets depends on how the stream was cut or where its
        text was analysed."""
        text_stage = self._text_stage()
        # two batches in flight per text process: with one, the scoring process and the text
        # processes waited on each other (1.75 of 2 cores busy in encoder-free mode; 1.85 with two)
        ahead = max(1, 2 * self.text_workers)
        with ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="qunshao-prepare") as pool:
            pending: deque[Future[Prepared]] = deque()
            for batch in batches:
                pending.append(pool.submit(self._prepare, list(batch), text_stage))
                if len(pending) > ahead:
                    prepared = pending.popleft().result()
                    yield prepared.messages, self._finish(prepared)
            while pending:
                prepared = pending.popleft().result()
                yield prepared.messages, self._finish(prepared)

    def _resolve_text_workers(self, text_workers: int | str) -> int:
        """``auto``: processes where the text stage bounds the run (encoder-free, or the model on a
        GPU), one per core up to 8; none where the model runs on the CPU, whose threads already use
        every core."""
        if text_workers != "auto":
            if not isinstance(text_workers, int) or text_workers < 0:
                raise ValueError(f"text_workers must be 'auto' or a number >= 0, not {text_workers!r}")
            return text_workers
        encoder = self.classifier.encoder
        if encoder is not None and encoder.device == "cpu":
            return 0
        return min(os.cpu_count() or 1, 8)

    def _text_stage(self) -> Callable[[list[str]], TextBlock]:
        """Where the next batches' text work runs: here, or in the worker processes once the stream
        has shown it is big enough to repay starting them (``text_processes_after`` messages; they
        take a second or two to import) and they have started; until then, here."""
        here = self.classifier.text_stage()
        if self.text_workers <= 0:
            return here

        def stage(texts: list[str]) -> TextBlock:
            processes = self._text_processes(len(texts))
            if processes is None:
                return here(texts)
            return processes.submit(here, texts).result()

        return stage

    def start_text_processes(self) -> None:
        """Start the ``text_workers`` processes now and wait until they can work, rather than once a
        stream has grown big (for a benchmark, or a job that knows its archive is large)."""
        with self._pool_lock:
            self._start_pool()
        for started in self._pool_started:
            started.result()

    def _text_processes(self, texts: int) -> ProcessPoolExecutor | None:
        """Count ``texts`` more through the text stage; the pool once it is started and ready."""
        with self._pool_lock:
            self._text_seen += texts
            if self._text_seen >= self.text_processes_after:
                self._start_pool()
            if self._text_pool is None or not all(f.done() for f in self._pool_started):
                return None
            return self._text_pool

    def _start_pool(self) -> None:
        """Under ``_pool_lock``. Spawn, not fork: the parent may run ONNX Runtime or server threads."""
        if self.text_workers <= 0 or self._text_pool is not None:
            return
        self._text_pool = ProcessPoolExecutor(
            self.text_workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )
        # one empty task each: done once a process has imported the text stage
        self._pool_started = [
            self._text_pool.submit(self.classifier.text_stage(), []) for _ in range(self.text_workers)
        ]

    def close(self) -> None:
        """Stop the text-stage processes, if any (they also stop when the interpreter exits)."""
        with self._pool_lock:
            if self._text_pool is not None:
                self._text_pool.shutdown(cancel_futures=True)
                self._text_pool = None

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _prepare(self, messages: list[Message], text_stage: Callable[[list[str]], TextBlock]) -> _Batch:
        """The text stage for the messages with words to judge; placeholders (``[图片]``) and
        system notices (:mod:`nlp.text.placeholders`) skip the model, so they teach the group's
        centroid nothing; :meth:`_finish` gives them their thread's off-topic score."""
        judged = [i for i, m in enumerate(messages) if not nothing_to_judge(m.text)]
        subset = messages if len(judged) == len(messages) else [messages[i] for i in judged]
        return _Batch(messages, judged, self.classifier.prepare(subset, self.dedup, text_stage))

    def _finish(self, batch: _Batch) -> list[Verdict]:
        """The model on the judged messages, then, over the whole batch in order, the rules that
        read a message with others (blasts across groups, threads), then verdicts. A message with
        nothing to judge has no score of its own (0 for ad and negativity) and takes its thread's
        off-topic score: a ``[图片]`` answering chatter is chatter, alone it is nothing."""
        prepared, messages, judged = batch.prepared, batch.messages, batch.judged
        n_labels = len(self.classifier.labels)
        with self._lock:
            feats = None
            if prepared.messages:
                feats = self.classifier.complete(prepared, self.profiles, learn=self.learn_groups)
            own = self.classifier.predict_proba_features(feats).tolist() if feats is not None else []
            if len(judged) == len(messages):  # the usual case
                scores, analyses = own, feats.analyses if feats is not None else []
            else:
                scores = [[0.0] * n_labels for _ in messages]
                analyses = [None] * len(messages)
                for k, i in enumerate(judged):
                    scores[i], analyses[i] = own[k], feats.analyses[k]
            spread = self._across_groups(messages, scores, analyses)
            continues = self._in_threads(messages, scores, analyses)
        proba = np.array(scores, dtype=np.float64).reshape(len(messages), n_labels)
        decided = self.classifier.decide_rows(proba)
        suggested = self.classifier.suggestions(proba)
        shown = [dict(zip(self.classifier.labels, row, strict=True)) for row in rounded_scores(proba).tolist()]
        rows = prepared.rows.tolist()  # per judged message: its distinct text in ``prepared``
        every = len(judged) == len(messages)
        terms = self._terms(prepared, decided if every else [decided[i] for i in judged], rows)
        out = (
            []
            if every
            else [self._unjudged(m, shown[i], decided[i], suggested[i], continues[i]) for i, m in enumerate(messages)]
        )
        for k, i in enumerate(judged):
            verdict = self._verdict(
                messages[i],
                scores[i],
                shown[i],
                decided[i],
                suggested[i],
                analyses[i],
                feats.related[k],
                terms,
                rows[k],
                continues[i],
                spread[i],
            )
            if every:
                out.append(verdict)
            else:
                out[i] = verdict
        return out

    def _unjudged(
        self, message: Message, shown: dict[str, float], labels: list[str], suggestion: str, continues_chatter: bool
    ) -> Verdict:
        """A placeholder's or a system notice's verdict: chatter only by its thread."""
        reasons = [CONTINUES_CHATTER] if "offtopic" in labels and continues_chatter else []
        return Verdict(id=message.id, labels=labels, scores=shown, suggestion=suggestion, reasons=reasons)

    def _across_groups(self, messages: Sequence[Message], scores: list[list[float]], analyses) -> list[int]:
        """Under ``_lock``, in message order: in how many groups each message's author posted its
        text lately, with the ad probability raised for a blast (:mod:`nlp.classify.broadcast`).
        Without ``learn_groups`` the copies of this call are counted and then forgotten, as the
        thread memories are."""
        rule = self.broadcast
        labels = self.classifier.labels
        if rule is None or "ad" not in labels:
            return [0] * len(messages)
        ad = labels.index("ad")
        memory = self._broadcasts if self.learn_groups else copy.deepcopy(self._broadcasts)
        spread = []
        for i, m in enumerate(messages):
            groups = memory.groups(m, analyses[i].normalized, rule) if analyses[i] is not None else 0
            scores[i][ad] = rule.boost(scores[i][ad], groups)
            spread.append(groups)
        return spread

    def _in_threads(self, messages: Sequence[Message], scores: list[list[float]], analyses) -> list[bool]:
        """Under ``_lock``, in message order: mix each reply's off-topic and ad probabilities with its
        parent's, and damp the negativity and off-topic of members answering an ad
        (:mod:`nlp.classify.thread`), in place. True where the parent was itself chatter."""
        continues = [False] * len(messages)
        context, labels = self.thread_context, self.classifier.labels
        if context is None or ("offtopic" not in labels and "ad" not in labels):
            return continues
        off = labels.index("offtopic") if "offtopic" in labels else None
        threshold = self.classifier.thresholds_["offtopic"] if off is not None else 1.0
        ad = labels.index("ad") if "ad" in labels else None
        sure_ad = self.classifier.block_thresholds_["ad"] if ad is not None else 1.0
        damped = [labels.index(label) for label in ("offtopic", "negativity") if label in labels]
        memories: dict[str, ThreadMemory] = {}
        for i, m in enumerate(messages):
            memory = memories.get(m.group)
            if memory is None:  # the group's own memory when learning, else a copy to use and drop
                profile = self.profiles.get(m.group)
                if profile is None:
                    memory = ThreadMemory()
                else:
                    memory = profile.thread_ if self.learn_groups else copy.deepcopy(profile.thread_)
                memories[m.group] = memory
            analysis = analyses[i]
            if analysis is None:  # nothing to judge (``[图片]``): its thread's off-topic score, if any
                if off is not None:
                    parent = context.parent_score(memory, m, "")
                    scores[i][off] = parent if parent is not None else 0.0
                    continues[i] = parent is not None and parent >= threshold
                memory.remember(m, scores[i][off] if off is not None else 0.0)
                continue
            if off is not None:
                text = analysis.normalized
                parent = context.parent_score(memory, m, text)
                if parent is not None and (is_greeting(text) or is_acknowledgement(text)):
                    parent = None  # they stand alone: see nlp.classify.thread
                scores[i][off] = context.mix(scores[i][off], parent, text)
                continues[i] = parent is not None and parent >= threshold
            if ad is not None and m.reply_to:  # only a reply has a parent to borrow from
                invites = bool(analysis.contacts) or bool(analysis.signals_of("contact_cue"))
                scores[i][ad] = context.mix_ad(scores[i][ad], memory, m, invites)
            is_ad = ad is not None and scores[i][ad] >= sure_ad
            if not is_ad and context.answers_ad(memory, m):
                for col in damped:
                    scores[i][col] *= context.ad_reaction_weight
            memory.remember(
                m, scores[i][off] if off is not None else 0.0, is_ad, scores[i][ad] if ad is not None else None
            )
        return continues

    def state(self) -> PipelineState:
        """What the pipeline has learnt (small, picklable): save it to resume a run or restart a bot
        where it was."""
        with self._lock:
            return PipelineState(
                copy.deepcopy(self.profiles), copy.deepcopy(self._broadcasts), self.classifier.group_space
            )

    def restore(self, state: PipelineState | Mapping[str, GroupProfile]) -> None:
        """From :meth:`state`, or from the per-group profiles alone (what older checkpoints hold).
        A state learnt in another vector space (a model on another encoder) is refused: its
        centroids would be compared with vectors they have nothing in common with."""
        if isinstance(state, PipelineState) and state.space and state.space != self.classifier.group_space:
            raise ValueError(
                f"this state was learnt by a model in space {state.space!r}; "
                f"the pipeline's model is in {self.classifier.group_space!r}"
            )
        with self._lock:
            if isinstance(state, PipelineState):
                self.profiles = copy.deepcopy(state.profiles)
                self._broadcasts = copy.deepcopy(state.broadcasts)
            else:
                self.profiles = copy.deepcopy(dict(state))

    def _verdict(
        self,
        message: Message,
        scores: list[float],
        shown: dict[str, float],
        labels: list[str],
        suggestion: str,
        analysis: TextAnalysis,
        related: np.ndarray,
        terms: Mapping[tuple[str, int], list[tuple[str, int]]],
        row: int,
        continues_chatter: bool = False,
        groups: int = 0,
    ) -> Verdict:
        """``shown``: ``scores`` as written out (:func:`rounded_scores`); ``labels`` and
        ``suggestion``: what :meth:`MessageClassifier.decide` and ``suggestion`` made of ``scores``
        (the list is edited: both are taken again where the group's rules, an allowed ad or an
        admin's warning, change the scores they come from);
        ``terms``: :meth:`_terms` of the batch, ``row`` this message's text in it; ``groups``: in
        how many groups its author posted it lately (:meth:`_across_groups`)."""
        clf = self.classifier
        reasons: list[str] = []
        profile = self.profiles.get(message.group)
        gated = None  # the scores the suggestion is taken from, where the group's rules change them
        if "ad" in labels:
            urls = [s.value for s in analysis.contacts if s.kind == "url"]
            allowed = allows_ad(profile, message.user, urls, len(analysis.contacts) - len(urls))
            if allowed:
                reasons.append(allowed)
                gated = list(scores)
                gated[clf.labels.index("ad")] = 0.0
        if "negativity" in labels and profile is not None and profile.admins:
            column = clf.labels.index("negativity")
            sure = scores[column] >= clf.block_thresholds_["negativity"]
            moderation = admin_moderation(profile, message.user, sure)
            if moderation:
                reasons.append(moderation)
                gated = list(scores) if gated is None else gated
                # below block: not negativity; at or above: flagged for a person, never blocked
                gated[column] = clf.thresholds_["negativity"] if sure else 0.0
        if gated is not None:
            # labels and suggestion as the group's rules leave the scores: chatter an allowed ad or
            # an admin's warning hid comes back (decide reports an ad or insult, not both)
            labels[:] = clf.decide(gated)
            suggestion = clf.suggestion(gated)
        purpose = stated_purpose(message.group_topic, profile)
        for label in labels:
            quoted = terms.get((label, row))
            if quoted is None:  # a label the group's rules brought back
                quoted = self._restored_terms(label, analysis)
            reasons += reasons_for(label, analysis, self._weights[label], related, quoted, purpose)
            if label == "offtopic" and continues_chatter:
                reasons.append(CONTINUES_CHATTER)
            if label == "ad" and self.broadcast is not None and groups >= self.broadcast.min_groups:
                reasons.append(self.broadcast.reason(groups))
        return Verdict(id=message.id, labels=labels, scores=shown, suggestion=suggestion, reasons=reasons)

    def _terms(
        self, prepared: Prepared, decided: list[list[str]], rows: list[int]
    ) -> dict[tuple[str, int], list[tuple[str, int]]]:
        """The terms that reasons quote, per flagged label and distinct text of the batch, cached
        (bounded) across batches: archives repeat the same ads. By ``explain``: with occlusion, for
        its labels, the words whose removal lowers the score most, all texts' variants scored at
        once; with words (and occlusion's other labels), for
        :data:`~nlp.classify.words.WORD_LABELS`, the words the head's n-gram weights rest on;
        otherwise the heads' heaviest n-grams, ranked for the whole batch at once."""
        found: dict[tuple[str, int], list[tuple[str, int]]] = {}
        after = self.classifier.preamble_view_labels() if prepared.tails is not None else ()
        for label in self.classifier.labels:
            wanted = dict.fromkeys(rows[i] for i, labels in enumerate(decided) if label in labels)
            missing = []
            with self._terms_lock:
                for t in wanted:
                    cached = self._terms_cache.get((label, prepared.unique[t].raw))
                    if cached is None:
                        missing.append(t)
                    else:
                        found[label, t] = cached
            if not missing:
                continue
            weights = self._weights[label]
            # a label also read after a greeting quotes that part: the greeting is never the evidence
            sources = [int(prepared.tails[t]) if label in after and prepared.tails[t] >= 0 else t for t in missing]
            if prepared.terms is not None and self._quotes_grams(label):
                ranks = self._ranks.get(label)
                if ranks is None:  # a bot's pipeline never needs them: not at start-up
                    ranks = self._ranks[label] = weight_ranks(weights)
                computed = top_terms_of_batch(prepared.unique, weights, prepared.terms, sources, ranks=ranks)
            else:  # words or occlusion; or grams for a bot's few messages (no batch candidates)
                computed = self._quote(label, [prepared.unique[source] for source in sources])
            computed = [
                terms if source == t else placed_in(terms, prepared.unique[t].raw, prepared.unique[source].raw)
                for t, source, terms in zip(missing, sources, computed, strict=True)
            ]
            with self._terms_lock:
                for t, terms in zip(missing, computed, strict=True):
                    found[label, t] = self._terms_cache[label, prepared.unique[t].raw] = terms
                while len(self._terms_cache) > 20_000:
                    self._terms_cache.popitem(last=False)
        return found

    def _quotes_grams(self, label: str) -> bool:
        """Whether ``explain`` quotes ``label`` by the head's heaviest n-grams (or by words)."""
        if self.explain == "occlusion" and label in self.occlusion.labels:
            return False
        return not (self.explain in ("words", "occlusion") and label in WORD_LABELS)  # occlusion's other labels

    def _quote(self, label: str, analyses: list[TextAnalysis]) -> list[list[tuple[str, int]]]:
        """The terms ``explain`` quotes for ``label`` in each text, one text at a time (the batch's
        n-gram ranking is :meth:`_terms`' own)."""
        weights = self._weights[label]
        if self.explain == "occlusion" and label in self.occlusion.labels:
            return occlusion_terms(analyses, self._scorer(label), self.occlusion)
        if not self._quotes_grams(label):
            sounds = self._sound_weights[label]
            return [placed(analysis, top_words(analysis, weights, sounds=sounds)) for analysis in analyses]
        return [top_terms(analysis, weights) for analysis in analyses]

    def _restored_terms(self, label: str, analysis: TextAnalysis) -> list[tuple[str, int]]:
        """Terms for a label the group's rules brought back (the batch found none: the label was
        not decided then), quoted as ``explain`` quotes every other, and cached with them."""
        key = (label, analysis.raw)
        with self._terms_lock:
            cached = self._terms_cache.get(key)
        if cached is not None:
            return cached
        (terms,) = self._quote(label, [analysis])
        with self._terms_lock:
            self._terms_cache[key] = terms
        return terms

    def _scorer(self, label: str) -> Callable[[list[str]], np.ndarray]:
        """Texts -> ``label``'s probability from the classifier alone (no group, no thread), for
        occlusion; under the model lock, as every scoring here is."""
        clf, column = self.classifier, self.classifier.labels.index(label)

        def score(texts: list[str]) -> np.ndarray:
            messages = [Message(text=text, id=str(i)) for i, text in enumerate(texts)]
            with self._lock:
                feats = clf.complete(clf.prepare(messages, preambles=False))
                return clf.predict_proba_features(feats)[:, column]

        return score

    def score_one(self, message: Message | str) -> Verdict:
        if isinstance(message, str):
            message = Message(text=message, id="1")
        return self.score([message])[0]

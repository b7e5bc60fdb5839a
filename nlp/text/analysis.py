"""The text stage of the pipeline: one call turns a raw message into everything later stages read.

Classifiers, topic models and the conflict monitor all need the same four things: the canonical
text, the ad-detection view, tokens and signals. Computing them once per message here keeps the
stages consistent and the hot path in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from nlp.text.aligned import AlignedText
from nlp.text.deobfuscate import deobfuscate_aligned, deobfuscate_aligned_many
from nlp.text.normalize import normalize_aligned, normalize_aligned_many
from nlp.text.segment import Segmenter, default_segmenter
from nlp.text.signals import CONTACT_KINDS, Signal, extract_signals, may_repeat_many


@dataclass(frozen=True, slots=True)
class TextAnalysis:
    """What the text stage knows about one message."""

    raw: str
    normalized: str
    deobfuscated: str
    tokens: tuple[str, ...] | None  # None when analysed without segmentation (the classifier's hot path)
    signals: tuple[Signal, ...]

    def signals_of(self, *kinds: str) -> tuple[Signal, ...]:
        return tuple(s for s in self.signals if s.kind in kinds)

    def __reduce__(self):
        # Rebuilt from its fields: the default pickling of a frozen slots dataclass sets each field
        # through object.__setattr__, 4x slower, and the text stage's processes send these in bulk.
        return (TextAnalysis, (self.raw, self.normalized, self.deobfuscated, self.tokens, self.signals))

    @property
    def contacts(self) -> tuple[Signal, ...]:
        """Contact details (links, phones, WeChat/QQ ids and groups): the core evidence of 引流."""
        return tuple(s for s in self.signals if s.kind in CONTACT_KINDS)

    @property
    def emoji_count(self) -> int:
        return sum(len(s.value) for s in self.signals if s.kind == "emoji")


def analyze(text: str, segmenter: Segmenter | None = None, segment: bool = True) -> TextAnalysis:
    """Normalise, de-obfuscate, segment and extract signals from one message.

    ``segment=False`` skips jieba (half the cost of this function): the classifier reads char
    n-grams and signals, only topics, reasons and ``inspect`` need words."""
    normalized = normalize_aligned(text)
    tokens = tuple((segmenter or default_segmenter()).cut(normalized.text)) if segment else None
    return _analysis(text, normalized, tokens)


def analyze_many(texts: list[str]) -> list[TextAnalysis]:
    """``analyze(text, segment=False)`` of each text, the steps that pay off for a batch taken for
    all of them at once (:func:`~nlp.text.normalize.normalize_aligned_many`,
    :func:`~nlp.text.deobfuscate.deobfuscate_aligned_many`, :func:`~nlp.text.signals.may_repeat_many`):
    the classifier's text stage."""
    normalized = normalize_aligned_many(texts)
    deobfuscated = deobfuscate_aligned_many(normalized)
    repeats = may_repeat_many(texts)
    return [
        _analysis(text, aligned, None, view, may_repeat)
        for text, aligned, view, may_repeat in zip(texts, normalized, deobfuscated, repeats, strict=True)
    ]


def _analysis(
    text: str,
    normalized: AlignedText,
    tokens: tuple[str, ...] | None,
    deobfuscated: AlignedText | None = None,
    may_repeat: bool | None = None,
) -> TextAnalysis:
    if deobfuscated is None:
        deobfuscated = deobfuscate_aligned(normalized)
    return TextAnalysis(
        raw=text,
        normalized=normalized.text,
        deobfuscated=deobfuscated.text,
        tokens=tokens,
        signals=extract_signals(text, normalized, deobfuscated, may_repeat),
    )

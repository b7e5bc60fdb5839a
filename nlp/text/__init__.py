"""Text stage: normalisation, de-obfuscation, signals and segmentation of Chinese chat messages.

Depends on nothing else in ``nlp`` except :mod:`nlp.home`; every later stage depends on it.
"""

from nlp.text.analysis import TextAnalysis, analyze, analyze_many
from nlp.text.deobfuscate import deobfuscate_aligned
from nlp.text.normalize import normalize, normalize_aligned, to_simplified
from nlp.text.placeholders import nothing_to_judge, strip_placeholders
from nlp.text.segment import Segmenter, default_segmenter, load_stopwords
from nlp.text.signals import CONTACT_KINDS, Signal, extract_signals

__all__ = [
    "CONTACT_KINDS",
    "Segmenter",
    "Signal",
    "TextAnalysis",
    "analyze",
    "analyze_many",
    "default_segmenter",
    "deobfuscate_aligned",
    "extract_signals",
    "load_stopwords",
    "normalize",
    "normalize_aligned",
    "nothing_to_judge",
    "strip_placeholders",
    "to_simplified",
]

"""Word segmentation for chat text: jieba with a chat/moderation user dictionary and stopwords.

jieba's global tokenizer is shared mutable state; a :class:`Segmenter` owns its own
``jieba.Tokenizer``, initialised once under a lock, so a bot's worker threads can call :meth:`cut`
concurrently (after initialisation jieba only reads its dictionaries). The user dictionary adds
chat and moderation words jieba splits badly (``绝绝子``, ``破防``, ``接龙``, ``刷单``, ``引流``);
stopwords include chat filler (``哈哈``, ``嗯嗯``, ``233``) so keywords and topic labels skip them.

Imports only the standard library, jieba and :mod:`nlp.home` (for jieba's dictionary cache).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jieba

from nlp.home import qunshao_home

_RESOURCES = resources.files("nlp.text") / "resources"


def _is_punctuation_or_space(token: str) -> bool:
    return not any(ch.isalnum() for ch in token)


def load_stopwords(path: str | Path | None = None) -> frozenset[str]:
    """The shipped stopword list, or one word per line from ``path``."""
    text = Path(path).read_text("utf-8") if path else (_RESOURCES / "stopwords.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


class Segmenter:
    """Thread-safe jieba segmentation of *normalised* text (lower case, simplified)."""

    def __init__(
        self,
        user_dict: str | Path | None = None,
        stopwords: Iterable[str] | None = None,
        hmm: bool = True,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.user_dict = user_dict
        self.stopwords = frozenset(stopwords) if stopwords is not None else load_stopwords()
        self.hmm = hmm
        self.cache_dir = cache_dir
        self._tokenizer: jieba.Tokenizer | None = None
        self._lock = threading.Lock()

    def _ready(self) -> jieba.Tokenizer:
        if self._tokenizer is not None:
            return self._tokenizer
        with self._lock:
            if self._tokenizer is None:
                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                if self.cache_dir is not None:
                    tokenizer.tmp_dir = str(self.cache_dir)
                tokenizer.initialize()
                with resources.as_file(_RESOURCES / "userdict.txt") as shipped:
                    tokenizer.load_userdict(str(shipped))
                if self.user_dict is not None:
                    tokenizer.load_userdict(str(self.user_dict))
                self._tokenizer = tokenizer
        return self._tokenizer

    def word_frequencies(self) -> Mapping[str, int]:
        """The dictionary (jieba's and the chat user dictionary): word -> frequency; a prefix of a
        longer word is in it with frequency 0. Read-only: it is the tokenizer's own table."""
        return self._ready().FREQ

    def cut(self, text: str) -> list[str]:
        """Every token, whitespace dropped, punctuation kept (it matters for n-gram features)."""
        return [tok for tok in self._ready().cut(text, HMM=self.hmm) if not tok.isspace()]

    def is_content(self, token: str) -> bool:
        """Whether a token of :meth:`cut` is a content word: no stopword, not only punctuation."""
        return token not in self.stopwords and not _is_punctuation_or_space(token)

    def keywords(self, text: str, min_chars: int = 1) -> list[str]:
        """Content words (:meth:`is_content`) of at least ``min_chars`` characters."""
        return [tok for tok in self.cut(text) if len(tok) >= min_chars and self.is_content(tok)]


@lru_cache(maxsize=1)
def default_segmenter() -> Segmenter:
    """One shared segmenter per process: jieba's dictionary costs about a second to load."""
    return Segmenter(cache_dir=qunshao_home())

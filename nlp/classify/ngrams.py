"""Char 1-3-grams of the de-obfuscated text, hashed into a fixed number of columns.

A stateless ``HashingVectorizer`` layout (sklearn's murmurhash bucket rule): nothing to fit or ship,
robust to Chinese segmentation errors and to new slang. The vectorizer itself builds every gram as
a Python string; batches are hashed here instead as integer keys in numpy (same columns, same
counts, tested against the vectorizer), which also lists each text's quotable terms for reasons.

Imports only :mod:`nlp.text.code_points` from qunshao.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

from nlp.text.code_points import BATCHED_FROM, char_test

NGRAM_FEATURES = 2**17  # 131k buckets: few collisions for 1-3 char grams, heads stay ~1 MB each

# Rows are scaled to unit length, except that a row's norm is never taken below NGRAM_NORM_FLOOR
# (the norm of a ~9-character message's grams): a 3-character jab has 6 grams, and unit length would
# give each the weight a long message spreads over 50, so one gram (嘴, 你个) decided the score.
# Fewer grams are less evidence; the embedding and the bias then carry more of a short message.
NGRAM_NORM_FLOOR = 5.0


def ngram_vectorizer() -> HashingVectorizer:
    """Raw gram counts; :func:`hash_ngrams` applies the floored normalisation."""
    return HashingVectorizer(
        analyzer="char", ngram_range=(1, 3), n_features=NGRAM_FEATURES, alternate_sign=False, norm=None
    )


def _floored_normalise(counts: sp.csr_matrix) -> sp.csr_matrix:
    """Divide each row by ``max(norm, NGRAM_NORM_FLOOR)``, in place (``counts`` is freshly made)."""
    lengths = np.diff(counts.indptr)
    rows = np.repeat(np.arange(counts.shape[0]), lengths)
    norms = np.sqrt(np.bincount(rows, weights=counts.data**2, minlength=counts.shape[0]))
    counts.data /= np.repeat(np.maximum(norms, NGRAM_NORM_FLOOR), lengths)
    return counts


_WHITE_SPACES = re.compile(r"\s\s+")


@lru_cache(maxsize=262_144)  # chat reuses a small vocabulary of grams: a lookup instead of a hash
def gram_column(gram: str) -> int:
    """The column :func:`ngram_vectorizer` hashes ``gram`` to (sklearn's murmurhash3 bucket rule)."""
    h = murmurhash3_32(gram, seed=0)
    return (2147483647 - (NGRAM_FEATURES - 1)) % NGRAM_FEATURES if h == -2147483648 else abs(h) % NGRAM_FEATURES


def hash_ngrams(texts: list[str]) -> sp.csr_matrix:
    """Char 1-3-gram counts of ``texts``, hashed as :func:`ngram_vectorizer` does (same columns, same
    counts), rows normalised with a floor (``NGRAM_NORM_FLOOR``).

    The vectorizer builds every gram as a Python string and hashes it (about 40 µs a message, the
    largest part of encoder-free scoring), and validates its input on every call (about a
    millisecond, most of a bot's single-message budget). Here a batch's grams become integer keys
    in numpy, only grams not met before are hashed, and a few texts take a plain loop."""
    if len(texts) < BATCHED_FROM:
        return _hash_ngrams_small(texts)
    return _GRAM_COLUMNS.transform(texts)


def _hash_ngrams_small(texts: list[str]) -> sp.csr_matrix:
    indptr, indices, values = [0], [], []
    for text in texts:
        doc = _doc(text)
        counts: dict[int, float] = {}
        for n in (1, 2, 3):
            for i in range(len(doc) - n + 1):
                index = gram_column(doc[i : i + n])
                counts[index] = counts.get(index, 0.0) + 1.0
        keys = sorted(counts)
        indices += keys
        values += [counts[k] for k in keys]
        indptr.append(len(indices))
    counts = sp.csr_matrix(
        (np.asarray(values, dtype=np.float64), np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int32)),
        shape=(len(texts), NGRAM_FEATURES),
    )
    return _floored_normalise(counts)


def _doc(text: str) -> str:
    """What the vectorizer takes grams of: lower case, whitespace runs folded to one space."""
    return _WHITE_SPACES.sub(" ", text.lower())


class _GramColumnCache:
    """Column of every char n-gram met so far, keyed by the gram's code points packed in an integer
    (21 bits each: ``c0 << 42 | c1 << 21 | c2``), one sorted table per gram length, looked up with
    ``searchsorted``. Chat reuses a small vocabulary, so after the first batches almost no gram is
    hashed again. Bounded: a table that outgrows ``max_size`` starts over (an archive of millions of
    messages has millions of trigrams)."""

    def __init__(self, max_size: int = 1_000_000) -> None:
        self.max_size = max_size
        empty = (np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64))
        self._tables: dict[int, tuple[np.ndarray, np.ndarray]] = {1: empty, 2: empty, 3: empty}
        self._lock = threading.Lock()

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        return self.transform_with_terms(texts, terms=False)[0]

    def transform_with_terms(self, texts: list[str], terms: bool = True) -> tuple[sp.csr_matrix, TermCandidates | None]:
        docs = [_doc(text) for text in texts]
        lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
        points = np.frombuffer("".join(docs).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        row_of = np.repeat(np.arange(len(docs)), lengths)
        first = np.repeat(np.cumsum(lengths) - lengths, lengths)  # where each position's text starts
        # characters from each position to the end of its own text: a gram never spans two texts
        left = first + np.repeat(lengths, lengths) - np.arange(len(points))
        rows, cols, per_size = [], [], {}
        for n in (1, 2, 3):
            starts = np.flatnonzero(left >= n)
            if n == 1:  # every position: its character's rank among the batch's distinct ones
                unique, inverse = _unique_code_points(points[starts])
                ranks, letters = inverse, len(unique)
            else:
                unique, inverse = _unique_grams(points, ranks, letters, starts, n)
            columns = self._columns(n, unique)[inverse]
            rows.append(row_of[starts])
            cols.append(columns)
            per_size[n] = (starts, inverse, len(unique), columns)
        counts = _count_entries(np.concatenate(rows), np.concatenate(cols), len(docs))
        if not terms:
            return _floored_normalise(counts), None
        exact = np.fromiter((d == t for d, t in zip(docs, texts, strict=True)), dtype=bool, count=len(docs))
        return _floored_normalise(counts), _term_candidates(points, row_of, first, per_size, exact)

    def _columns(self, n: int, keys: np.ndarray) -> np.ndarray:
        """Columns of sorted distinct ``keys``; grams not in the table are hashed and added."""
        with self._lock:
            known, columns = self._tables[n]
            if len(known) > self.max_size:
                known, columns = known[:0], columns[:0]
            at = np.searchsorted(known, keys)
            found = np.zeros(len(keys), dtype=bool)
            inside = at < len(known)
            found[inside] = known[at[inside]] == keys[inside]
            if not found.all():
                new = keys[~found]
                new_columns = np.fromiter(map(gram_column, _unpack_all(new, n)), np.int64, len(new))
                where = np.searchsorted(known, new)
                known, columns = np.insert(known, where, new), np.insert(columns, where, new_columns)
                self._tables[n] = (known, columns)
                at = np.searchsorted(known, keys)
            return columns[at]


def _unique_code_points(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(points, return_inverse=True)`` for single characters: a presence table over the
    code points instead of a sort (a batch has ~35,000 characters and a few thousand distinct ones;
    the sort was a tenth of the n-gram stage)."""
    seen = np.zeros(int(points.max()) + 1 if len(points) else 0, dtype=bool)
    seen[points] = True
    return np.flatnonzero(seen).astype(np.uint64), (np.cumsum(seen) - 1)[points]


def _count_entries(rows: np.ndarray, columns: np.ndarray, n_rows: int) -> sp.csr_matrix:
    """The canonical CSR matrix (sorted, summed) of one count per ``(row, column)`` entry: ordered by
    a radix sort of ``row * NGRAM_FEATURES + column`` (below 2**48 for 2**31 rows), which is what
    scipy's COO conversion, per-row index sort and duplicate sum did at three times the cost."""
    entries = rows * NGRAM_FEATURES + columns
    order, new = sorted_runs(entries)
    at = np.flatnonzero(new)
    distinct = entries[order[at]]
    indptr = np.zeros(n_rows + 1, dtype=np.int32)
    np.cumsum(np.bincount(distinct // NGRAM_FEATURES, minlength=n_rows), out=indptr[1:])
    counts = sp.csr_matrix(
        (np.diff(np.append(at, len(order))).astype(np.float64), (distinct % NGRAM_FEATURES).astype(np.int32), indptr),
        shape=(n_rows, NGRAM_FEATURES),
    )
    counts.has_canonical_format = True  # sorted and summed, as built: scipy need not check it again
    return counts


def _unique_grams(
    points: np.ndarray, ranks: np.ndarray, letters: int, starts: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)`` of the packed keys of the ``n``-grams at ``starts``,
    without sorting 64-bit keys: written in the characters' ranks (``letters`` of them), a gram is
    a number below ``letters ** n`` in the same order as its packed key, which a radix sort orders
    (:func:`stable_order`); only the distinct grams are packed."""
    dense = ranks[starts]
    for k in range(1, n):
        dense = dense * letters + ranks[starts + k]
    order, new = sorted_runs(dense)
    inverse = np.empty(len(order), dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    first = starts[order[new]]
    keys = points[first]
    for k in range(1, n):
        keys = (keys << np.uint64(21)) | points[first + k]
    return keys, inverse


@dataclass(frozen=True)
class TermCandidates:
    """What a reason may quote from each text of a batch (:func:`nlp.classify.reasons.top_terms_of_batch`):
    its distinct 2-3-character grams made only of letters and digits, in first-occurrence order
    (bigrams, then trigrams), with their hashed column, start and size. Found here, with the grams'
    columns already at hand, so the scoring process only ranks them. ``exact[i]`` is False where
    text ``i`` changed under the vectorizer's lower-casing and whitespace folding (positions would
    not match): its reasons are then found from the text itself."""

    indptr: np.ndarray
    columns: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray
    exact: np.ndarray


def _term_candidates(points, row_of, first, per_size, exact) -> TermCandidates:
    alnum = char_test(points, "isalnum")
    rows, offsets, sizes, columns = [], [], [], []
    for n in (2, 3):
        starts, gram_ids, n_grams, gram_columns = per_size[n]
        ok = alnum[starts].copy()
        for k in range(1, n):
            ok &= alnum[starts + k]
        at, ids = starts[ok], gram_ids[ok]
        # first occurrence of each distinct gram of a text: positions are in text order, so the
        # first of each run of (text, gram) in a stable order is it
        order, new_pair = sorted_runs(row_of[at] * n_grams + ids)
        keep = np.zeros(len(order), dtype=bool)
        keep[order[new_pair]] = True
        keep = np.flatnonzero(keep)  # in text order
        at = at[keep]
        rows.append(row_of[at])
        offsets.append(at - first[at])
        sizes.append(np.full(len(at), n, dtype=np.int8))
        columns.append(gram_columns[ok][keep])
    rows_all = np.concatenate(rows)
    order = stable_order(rows_all)  # per text: bigrams, then trigrams, each by position
    indptr = np.zeros(len(exact) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows_all, minlength=len(exact)), out=indptr[1:])
    # compact: this crosses from the text processes
    return TermCandidates(
        indptr,
        np.concatenate(columns)[order].astype(np.int32),
        np.concatenate(offsets)[order].astype(np.int32),
        np.concatenate(sizes)[order],
        exact,
    )


def stable_order(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` of integer keys: for keys in ``[0, 2**48)`` (hashed
    columns, text numbers, grams written in character ranks) a radix sort 16 bits at a time, which
    numpy's stable argsort runs for 16-bit keys (~10 ns a key a pass here, a comparison sort
    ~30-50)."""
    top = int(keys.max()) if len(keys) else 0
    if len(keys) and (keys.min() < 0 or top >= 2**48):
        return np.argsort(keys, kind="stable")
    order = np.argsort(keys.astype(np.uint16), kind="stable")  # the low 16 bits (astype wraps)
    shift = 16
    while top >> shift:
        order = order[np.argsort((keys[order] >> shift).astype(np.uint16), kind="stable")]
        shift += 16
    return order


def sorted_runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`stable_order` of ``keys`` and, in that order, where each run of equal keys starts:
    what ``np.unique`` finds by sorting, for the text stage's counts, distinct grams and first
    occurrences, and the group centroid's columns (:mod:`nlp.classify.profile`)."""
    order = stable_order(keys)
    ordered = keys[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = ordered[1:] != ordered[:-1]
    return order, new


def _unpack_all(keys: np.ndarray, n: int) -> list[str]:
    """The grams of packed ``keys`` (``n`` code points each): all code points decoded in one call,
    then cut every ``n`` characters (a string per key built in Python cost more than hashing it)."""
    shifts = np.array([21 * (n - 1 - k) for k in range(n)], dtype=np.uint64)
    points = ((keys.astype(np.uint64)[:, None] >> shifts) & np.uint64(0x1FFFFF)).astype("<u4")
    text = points.tobytes().decode("utf-32-le")
    return [text[i : i + n] for i in range(0, len(text), n)]


_GRAM_COLUMNS = _GramColumnCache()


def hash_ngrams_with_terms(texts: list[str]) -> tuple[sp.csr_matrix, TermCandidates]:
    """:func:`hash_ngrams` of a batch (32 texts or more) and each text's quotable terms."""
    return _GRAM_COLUMNS.transform_with_terms(texts)

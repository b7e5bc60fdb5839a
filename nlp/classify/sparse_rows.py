"""Rows of a sparse matrix as flat numpy arrays, for the per-group arithmetic of group centroids.

Encoder-free messages are hashed char n-grams: 2**17 columns, ~90 non-zeros a row. A batch splits
into a dozen groups of a few dozen rows each, and scipy's bookkeeping over the 2**17 columns
(canonical checks, row gathers, transposes, products) cost more than the arithmetic: a scipy row
gather alone was ~45 µs a group. Flat arrays cost O(non-zeros) and no Python per row.

May import numpy, scipy and :mod:`nlp.classify.ngrams`; :mod:`nlp.classify.profile` uses it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nlp.classify.ngrams import sorted_runs


class SparseRows:
    """``n`` rows: row ``row[e]`` has ``data[e]`` in column ``columns[e]``, rows in order, one entry
    per (row, column): what CSR holds, with each entry's row spelt out for ``np.bincount``."""

    __slots__ = ("_row", "columns", "data", "indptr", "n", "width")

    def __init__(self, columns: np.ndarray, data: np.ndarray, indptr: np.ndarray, width: int) -> None:
        self.columns, self.data, self.indptr, self.width = columns, data, indptr, width
        self.n = len(indptr) - 1
        self._row: np.ndarray | None = None

    @property
    def row(self) -> np.ndarray:
        """Each entry's row, spelt out on first use: a batch's rows are only gathered from (``take``)."""
        if self._row is None:
            self._row = np.repeat(np.arange(self.n), np.diff(self.indptr))
        return self._row

    @classmethod
    def from_matrix(cls, vectors) -> SparseRows:
        """From any scipy-sparse matrix, duplicates summed (the fold's prefix sums rely on one entry
        per row and column), values as float64."""
        x = sp.csr_matrix(vectors)
        if not x.has_canonical_format:
            x = x.copy()
            x.sum_duplicates()
        return cls(x.indices, x.data.astype(np.float64), np.asarray(x.indptr, dtype=np.int64), x.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        return self.n, self.width

    def take(self, rows: np.ndarray) -> SparseRows:
        """The given rows, in the given order."""
        starts = self.indptr[rows]
        lengths = self.indptr[rows + 1] - starts
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        positions = np.arange(indptr[-1]) + np.repeat(starts - indptr[:-1], lengths)
        return SparseRows(self.columns[positions], self.data[positions], indptr, self.width)

    def rows_between(self, start: int, stop: int) -> SparseRows:
        """Rows ``start`` to ``stop - 1``: slices of the arrays, no gather."""
        stop = min(stop, self.n)
        first, last = self.indptr[start], self.indptr[stop]
        return SparseRows(
            self.columns[first:last], self.data[first:last], self.indptr[start : stop + 1] - first, self.width
        )

    def squares(self) -> np.ndarray:
        return np.bincount(self.row, self.data * self.data, minlength=self.n)

    def dot(self, vector: np.ndarray) -> np.ndarray:
        """Each row's dot with a dense vector, summed in column order within the row as scipy's
        product does (so the two agree to the last bit)."""
        return np.bincount(self.row, self.data * vector[self.columns], minlength=self.n)

    def dot_and_fold(self, k: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """Per row ``i``: its dot with ``direction`` as it is, plus the sum over the earlier rows
        ``j < i`` of ``k_j <x_j, x_i>``; then add ``sum_j k_j x_j`` to ``direction`` in place.
        Column by column (rows stay in order within a column), an exclusive prefix sum of
        ``k_j x_jc`` is what row ``i`` meets in column ``c``: O(non-zeros), where a Gram matrix
        costs O(rows^2). ``direction`` is read and written once per distinct column."""
        if not len(self.columns):
            return np.zeros(self.n)
        # a radix sort (a comparison sort was the costliest step here), and where each column's run starts
        order, first = sorted_runs(self.columns)
        columns, data, row = self.columns[order], self.data[order], self.row[order]
        starts = np.flatnonzero(first)
        runs = np.diff(np.append(starts, len(columns)))
        at = columns[starts]
        old = direction[at]
        weighted = data * k[row]
        before = np.cumsum(weighted) - weighted  # over all entries, then restarted per column
        before -= np.repeat(before[starts], runs)
        direction[at] = old + np.add.reduceat(weighted, starts)
        return np.bincount(row, data * (before + np.repeat(old, runs)), minlength=self.n)

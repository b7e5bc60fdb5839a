"""Loaders of the public training sets, on small files in their published layout (written here;
the real sets live outside the repo)."""

from __future__ import annotations

import csv
from pathlib import Path

from nlp.classify import LABELS
from nlp.classify.classifier import UNKNOWN
from nlp.train.datasets import load_cold

NEG = LABELS.index("negativity")


def _cold_split(folder: Path, rows: list[tuple[str, int]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "train.csv", "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["", "split", "topic", "label", "TEXT"])
        for i, (text, label) in enumerate(rows):
            writer.writerow([i, "train", "region", label, text])


def test_cold_comments_about_prejudice_say_nothing_on_negativity_when_asked(tmp_path: Path) -> None:
    rows = [
        ("别搞地域黑了，哪里都有好人坏人", 1),  # pushback, labelled offensive as COLD does
        ("说女生不适合理工科就是偏见", 1),
        ("你就是个傻子，别说话了", 1),
        ("今天的讨论挺有意思的", 0),
        ("面试被问婚育算不算就业歧视", 0),
    ]
    _cold_split(tmp_path, rows)

    published = load_cold(tmp_path, "train")
    assert published.y[:, NEG].tolist() == [1, 1, 1, 0, 0]

    cleaned = load_cold(tmp_path, "train", prejudice_talk_unknown=True)
    assert cleaned.y[:, NEG].tolist() == [UNKNOWN, UNKNOWN, 1, 0, UNKNOWN]
    # every comment is still a known non-ad, and nothing is said about chatter
    assert (cleaned.y[:, LABELS.index("ad")] == 0).all()
    assert (cleaned.y[:, LABELS.index("offtopic")] == UNKNOWN).all()
    assert [m.text for m in cleaned.messages] == [text for text, _ in rows]
    assert cleaned.messages[0].fields["label"] == "1"  # the row as published stays with its message

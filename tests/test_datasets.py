"""Loaders of the public training sets, on small files in their published layout (written here;
the real sets live outside the repo)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from nlp.classify import LABELS
from nlp.classify.classifier import UNKNOWN
from nlp.io import RecordError
from nlp.train.datasets import load_cold, load_cold_reading

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


def test_our_readings_of_cold_rows_load_and_refuse_bad_lines(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("cold_dev_row,seed,negativity\n7,2051,1\n3,2051,0\n", encoding="utf-8")
    assert load_cold_reading(good) == {7: 1, 3: 0}

    bad_label = tmp_path / "bad_label.csv"
    bad_label.write_text("cold_dev_row,negativity\n1,0\n2,yes\n3,1\n", encoding="utf-8")
    with pytest.raises(RecordError) as error:
        load_cold_reading(bad_label)
    assert error.value.line == 3 and error.value.field == "negativity"

    twice = tmp_path / "twice.csv"
    twice.write_text("cold_train_row,negativity\n5,0\n5,1\n", encoding="utf-8")
    with pytest.raises(RecordError, match="重复") as error:
        load_cold_reading(twice)
    assert error.value.line == 3

    no_row_column = tmp_path / "header.csv"
    no_row_column.write_text("text,negativity\nhello,0\n", encoding="utf-8")
    with pytest.raises(RecordError):
        load_cold_reading(no_row_column)


def test_the_committed_readings_are_the_samples_the_readme_describes() -> None:
    labelled = Path(__file__).resolve().parents[1] / "data" / "labelled"
    for name, rows, negatives in (
        ("cold_dev_sample.csv", 300, 55),
        ("cold_dev_prejudice_talk.csv", 60, 20),
        ("cold_train_sample.csv", 600, 116),
    ):
        reading = load_cold_reading(labelled / name)
        assert (len(reading), sum(reading.values())) == (rows, negatives), name

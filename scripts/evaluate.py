"""Measure the shipped classifiers on public data they never trained on; write docs/eval.md.

    python scripts/evaluate.py --shared ../shared/data --output docs/eval.md

Sets (see ../shared/data/README.md): COLD test (negativity; the one public *train-licence* set, its
test split), ChineseHarm-bench (ad = 黑产广告, ad-like = 博彩/欺诈, negativity = 谩骂引战, normal =
不违规), SMS spam positives (ad recall), waimai/online_shopping negative reviews (calm complaints
wrongly called negativity), and the team's own held-out group-chat test set. ``eval/`` sets are
evaluation only: this script reads them, nothing in training does. Thresholds are the models' own,
chosen on dev when they were built.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from bench_encoder import cpu_name  # scripts/, beside this one
from sklearn.metrics import accuracy_score, average_precision_score, f1_score, precision_score, recall_score

from nlp.classify.model_files import load_classifier, read_manifest
from nlp.io import Message
from nlp.train.datasets import load_cold, load_labelled

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"full (m3e-small)": ROOT / "models" / "default", "encoder-free": ROOT / "models" / "encoder-free"}


@dataclass
class TextSet:
    texts: list[str]
    labels: np.ndarray  # 1 = the positive class of the measurement


def _messages(texts: list[str]) -> list[Message]:
    return [Message(text=t, id=str(i)) for i, t in enumerate(texts)]


COLD_KINDS = {1: "attack individual", 2: "attack group", 3: "anti-bias", 0: "other safe"}


def chineseharm(shared: Path) -> dict[str, list[str]]:
    rows = json.loads((shared / "eval" / "chineseharm" / "bench.json").read_text("utf-8"))
    by: dict[str, list[str]] = {}
    for row in rows:
        by.setdefault(row["标签"], []).append(row["文本"])
    return by


def sms_positives(shared: Path) -> list[str]:
    with open(shared / "eval" / "sms_spam" / "sample1.csv", encoding="utf-8") as handle:
        return [r["content"].strip() for r in csv.DictReader(handle) if r["label"] == "1"]


def calm_complaints(shared: Path, shopping_sample: int, seed: int = 7) -> list[str]:
    folder = shared / "eval" / "sophonplus"
    with open(folder / "waimai_10k.csv", encoding="utf-8") as handle:
        texts = [r["review"] for r in csv.DictReader(handle) if r["label"] == "0"]
    with zipfile.ZipFile(folder / "online_shopping_10_cats.zip") as archive:
        name = archive.namelist()[0]
        rows = [r for r in csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")) if r["label"] == "0"]
    random.Random(seed).shuffle(rows)
    return texts + [r["review"] for r in rows[:shopping_sample]]


def binary(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    return {
        "precision": round(float(precision_score(truth, pred, zero_division=0)), 4),
        "recall": round(float(recall_score(truth, pred, zero_division=0)), 4),
        "f1": round(float(f1_score(truth, pred, zero_division=0)), 4),
        "accuracy": round(float(accuracy_score(truth, pred)), 4),
    }


def evaluate_model(model_dir: Path, shared: Path, shopping_sample: int) -> dict:
    clf = load_classifier(model_dir)
    ad, neg, off = (clf.labels.index(x) for x in ("ad", "negativity", "offtopic"))
    out: dict = {"thresholds": clf.thresholds_}
    timing = {"messages": 0, "seconds": 0.0}

    def scores(texts: list[str] | list[Message]) -> np.ndarray:
        messages = texts if texts and isinstance(texts[0], Message) else _messages(texts)
        start = time.perf_counter()
        proba = clf.predict_proba(messages)
        timing["seconds"] += time.perf_counter() - start
        timing["messages"] += len(messages)
        return proba

    def predict(texts: list[str] | list[Message]) -> np.ndarray:
        return clf.decide_matrix(scores(texts))

    cold = load_cold(shared / "train" / "cold", "test")
    pred = predict(cold.messages)
    out["cold_test"] = binary(cold.y[:, neg], pred[:, neg]) | {"n": len(cold)}
    # COLD's test split alone says what kind each comment is; reported to show *where* the errors
    # are (anti-bias comments argue against prejudice and are safe, as a calm complaint is)
    kinds = np.array([int(m.fields["fine-grained-label"]) for m in cold.messages])
    out["cold_test_flagged_by_kind"] = {
        name: round(float(pred[kinds == code, neg].mean()), 4) for code, name in COLD_KINDS.items()
    }

    harm = chineseharm(shared)
    normal_scores = scores(harm["不违规"])
    normal = clf.decide_matrix(normal_scores)
    for name, key, col in [
        ("黑产广告", "ad", ad),
        ("博彩", "ad", ad),
        ("欺诈", "ad", ad),
        ("谩骂引战", "negativity", neg),
    ]:
        positive_scores = scores(harm[name])
        positive = clf.decide_matrix(positive_scores)[:, col]
        truth = np.r_[np.ones(len(positive)), np.zeros(len(normal))]
        out[f"chineseharm_{name}_vs_不违规_{key}"] = binary(truth, np.r_[positive, normal[:, col]]) | {
            # threshold-free: how well the scores rank, apart from where dev put the threshold
            "pr_auc": round(
                float(average_precision_score(truth, np.r_[positive_scores[:, col], normal_scores[:, col]])), 4
            )
        }
    out["chineseharm_不违规_flagged_rate"] = {
        label: round(float(normal[:, j].mean()), 4) for j, label in enumerate(clf.labels) if label != "offtopic"
    }

    sms = predict(sms_positives(shared))
    out["sms_spam_ad_recall"] = {"recall": round(float(sms[:, ad].mean()), 4), "n": len(sms)}

    complaints = predict(calm_complaints(shared, shopping_sample))
    out["calm_complaints_called_negativity"] = {
        "rate": round(float(complaints[:, neg].mean()), 4),
        "n": len(complaints),
    }

    test = load_labelled(ROOT / "data" / "labelled" / "chat_test.jsonl")
    pred = predict(test.messages)
    per_label = {label: binary(test.y[:, j], pred[:, j]) for j, label in enumerate(clf.labels)}
    non_ads = test.y[:, ad] == 0
    out["own_chat_test"] = per_label | {
        "macro_f1": round(float(np.mean([m["f1"] for m in per_label.values()])), 4),
        "ad_false_positive_rate": round(float(pred[non_ads, ad].mean()), 4),
        "n": len(test),
    }
    out["_off_index"] = off
    out["throughput_msgs_per_s"] = round(timing["messages"] / timing["seconds"], 1)
    return out


def render(results: dict[str, dict], manifests: dict[str, dict], command: str) -> str:
    names = list(results)
    lines = [
        "# Evaluation",
        "",
        f"Command: `{command}` ({time.strftime('%Y-%m-%d')}), on {cpu_name()}, {os.cpu_count()} cores. "
        "Thresholds are each model's own, chosen on dev (`data/labelled/chat_dev.jsonl` + COLD dev + SWSR dev; "
        "negativity's review threshold on the chat rows alone; ad's and off-topic's with the dev conversations "
        "of data/topics/dev.yaml as well) when the model was built; no number below was "
        "used to choose anything.",
        "Topic clustering and the conflict monitor are evaluated separately: docs/eval-topics.md "
        "(`scripts/evaluate_topics.py`) and docs/eval-conflicts.md (`scripts/evaluate_conflicts.py`).",
        "",
        "| measurement | bar | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]

    def row(title: str, bar: str, get) -> None:
        lines.append(f"| {title} | {bar} | " + " | ".join(str(get(results[n])) for n in names) + " |")

    row("COLD test accuracy (negativity)", ">= 0.82", lambda r: r["cold_test"]["accuracy"])
    row("COLD test F1", "", lambda r: r["cold_test"]["f1"])
    row(
        "COLD test called negativity, by kind: " + " / ".join(COLD_KINDS.values()),
        "",
        lambda r: " / ".join(str(v) for v in r["cold_test_flagged_by_kind"].values()),
    )
    row("ChineseHarm ad F1 (黑产广告 vs 不违规)", ">= 0.90", lambda r: r["chineseharm_黑产广告_vs_不违规_ad"]["f1"])
    row("ChineseHarm ad F1 (博彩 vs 不违规)", "", lambda r: r["chineseharm_博彩_vs_不违规_ad"]["f1"])
    row("ChineseHarm ad F1 (欺诈 vs 不违规)", "", lambda r: r["chineseharm_欺诈_vs_不违规_ad"]["f1"])
    row(
        "ChineseHarm negativity F1 (谩骂引战 vs 不违规)",
        ">= 0.80",
        lambda r: r["chineseharm_谩骂引战_vs_不违规_negativity"]["f1"],
    )
    row(
        "ChineseHarm PR-AUC, threshold-free (黑产广告 ad / 谩骂引战 negativity)",
        "",
        lambda r: (
            f"{r['chineseharm_黑产广告_vs_不违规_ad']['pr_auc']} / "
            f"{r['chineseharm_谩骂引战_vs_不违规_negativity']['pr_auc']}"
        ),
    )
    row("ChineseHarm 不违规 flagged as ad / negativity", "", lambda r: r["chineseharm_不违规_flagged_rate"])
    row("SMS spam positives: ad recall", ">= 0.85", lambda r: r["sms_spam_ad_recall"]["recall"])
    row(
        "Calm negative reviews called negativity",
        "<= 15%",
        lambda r: r["calm_complaints_called_negativity"]["rate"],
    )
    row("Own held-out chat test: macro F1 (3 labels)", ">= 0.85", lambda r: r["own_chat_test"]["macro_f1"])
    for label in ("ad", "negativity", "offtopic"):
        row(
            f"Own chat test: {label} P / R / F1",
            "",
            lambda r, lb=label: "{precision} / {recall} / {f1}".format(**r["own_chat_test"][lb]),
        )
    row(
        "Own chat test: ad false-positive rate on normal chat",
        "",
        lambda r: r["own_chat_test"]["ad_false_positive_rate"],
    )
    row("Throughput over all sets (msg/s, predict_proba)", "", lambda r: r["throughput_msgs_per_s"])
    lines += [
        "",
        "Set sizes: COLD test 5,323; ChineseHarm 1,000 per category; SMS spam positives 1,041; calm complaints: "
        "all waimai negatives + a seeded sample of online_shopping negatives; own chat test 90 messages "
        "(6 group kinds not in train/dev).",
        "",
        "## Models",
    ]
    for name, manifest in manifests.items():
        lines.append(
            f"- **{name}**: encoder `{manifest['encoder']}`, thresholds {manifest['thresholds']}, "
            f"block thresholds {manifest['block_thresholds']}, trained in {manifest.get('train_seconds')} s. "
            "Calibration on dev (ECE / Brier): "
            + ", ".join(
                f"{label} {m['ece']} / {m['brier']}"
                for label, m in manifest.get("dev_metrics", {}).get("all", {}).items()
                if "ece" in m
            )
            + "."
        )
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--json", type=Path, help="also write raw results as JSON")
    parser.add_argument("--shopping-sample", type=int, default=4000)
    args = parser.parse_args()
    results, manifests = {}, {}
    for name, directory in MODELS.items():
        if not (directory / "manifest.json").exists():
            print(f"skipping {name}: {directory} has no model (run make model)")
            continue
        print(f"evaluating {name} ...", flush=True)
        results[name] = evaluate_model(directory, args.shared, args.shopping_sample)
        results[name].pop("_off_index")
        manifests[name] = read_manifest(directory)
    command = "python scripts/evaluate.py --output docs/eval.md"
    report = render(results, manifests, command)
    print(report)
    if args.output:
        args.output.write_text(report, "utf-8")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), "utf-8")


if __name__ == "__main__":
    main()

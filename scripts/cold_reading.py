"""How far COLD's "offensive" is from our negativity, and which one a model has learnt -> docs/cold-reading.md.

    python scripts/cold_reading.py --output docs/cold-reading.md
    python scripts/cold_reading.py /tmp/some-model models/default     # compare model directories

COLD trains the negativity heads more than any other source, and its train and dev labels are not
our definition: COLD calls offensive much of what is only *about* race, region or gender. The team
read seeded samples of COLD rows without looking at COLD's label and labelled them by our
definition (data/labelled/README.md: cold_dev_sample.csv, cold_dev_prejudice_talk.csv,
cold_train_sample.csv; row numbers and our labels only). This script reports, for each sample, how
often COLD's label and ours agree, and for each model (dev samples only: the train sample was fitted
on by nothing shipped, but its rows are in every model's training data) how it ranks and decides
against our reading and against COLD's: average precision, accuracy at the model's own threshold,
and the accuracy of calling everything safe. Dev only; COLD's test split is not read.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_encoder import cpu_name  # noqa: E402  (scripts/, beside this one)

from nlp.classify.model_files import DEFAULT_MODEL_DIR, load_classifier  # noqa: E402
from nlp.train.datasets import load_cold, load_cold_reading  # noqa: E402

LABELLED = ROOT / "data" / "labelled"
SAMPLES = {  # name: (file, COLD split, what was sampled)
    "dev, random": (
        LABELLED / "cold_dev_sample.csv",
        "dev",
        "150 rows outside PREJUDICE_TALK, seed 2051; 150 of the rest, seed 2054",
    ),
    "dev, prejudice talk": (
        LABELLED / "cold_dev_prejudice_talk.csv",
        "dev",
        "60 rows matching PREJUDICE_TALK, seed 2043",
    ),
    "train, random": (LABELLED / "cold_train_sample.csv", "train", "600 rows, seed 2053"),
}


def agreement(rows: list[int], ours: np.ndarray, cold: np.ndarray) -> dict:
    return {
        "rows": len(rows),
        "ours_negative": int(ours.sum()),
        "cold_offensive": int(cold.sum()),
        "agree": float((ours == cold).mean()),
        "cold_only": int((cold & ~ours).sum()),
        "ours_only": int((ours & ~cold).sum()),
    }


def model_view(scores: np.ndarray, threshold: float, ours: np.ndarray, cold: np.ndarray) -> dict:
    said = scores >= threshold
    return {
        "threshold": threshold,
        "flagged": int(said.sum()),
        "ap_ours": float(average_precision_score(ours, scores)) if ours.any() else float("nan"),
        "acc_ours": float((said == ours).mean()),
        "acc_cold": float((said == cold).mean()),
        "all_safe_ours": float((~ours).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", type=Path, help="model directories (default: both shipped models)")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--output", type=Path, help="write a Markdown report here")
    args = parser.parse_args()
    models = args.models or [DEFAULT_MODEL_DIR, DEFAULT_MODEL_DIR.parent / "encoder-free"]
    splits = {split: load_cold(args.shared / "train" / "cold", split) for split in ("dev", "train")}

    samples = {}
    for name, (path, split, how) in SAMPLES.items():
        reading = load_cold_reading(path)
        rows = sorted(reading)
        data = splits[split]
        if rows[-1] >= len(data):
            raise SystemExit(f"{path}: row {rows[-1]} is past COLD {split}'s {len(data)} rows (another COLD version?)")
        ours = np.array([reading[i] == 1 for i in rows])
        cold = data.y[rows, 1] == 1
        samples[name] = {"how": how, "split": split, "rows": rows, "ours": ours, "cold": cold}
        samples[name]["agreement"] = agreement(rows, ours, cold)
        print(name, {k: round(v, 3) if isinstance(v, float) else v for k, v in samples[name]["agreement"].items()})

    # only the sampled dev rows are scored: a few hundred of COLD dev's 6,431
    scored = sorted({row for sample in samples.values() if sample["split"] == "dev" for row in sample["rows"]})
    views: dict[str, dict[str, dict]] = {}
    for directory in models:
        clf = load_classifier(directory)
        neg = clf.labels.index("negativity")
        threshold = clf.thresholds_["negativity"]
        scores = np.zeros(len(splits["dev"]))
        scores[scored] = clf.predict_proba([splits["dev"].messages[row] for row in scored])[:, neg]
        views[str(directory)] = {}
        for name, sample in samples.items():
            if sample["split"] != "dev":
                continue
            view = model_view(scores[sample["rows"]], threshold, sample["ours"], sample["cold"])
            views[str(directory)][name] = view
            print(" ", directory, name, {k: round(v, 3) if isinstance(v, float) else v for k, v in view.items()})
    if args.output:
        write(args, samples, views)


def _relative(path: str) -> str:
    p = Path(path).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else path


def write(args, samples: dict, views: dict) -> None:
    lines = [
        "# COLD's labels and our reading of them",
        "",
        f"Command: `python scripts/cold_reading.py --output {args.output}` ({time.strftime('%Y-%m-%d')}), on "
        f"{cpu_name()}, {os.cpu_count()} cores. COLD train and dev rows read by the team without COLD's label "
        "and labelled by our definition of negativity; COLD's test split is not read. Notes: docs/eval-notes.md.",
        "",
        "| sample | rows | ours: negativity | COLD: offensive | agree | COLD only | ours only |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in samples.items():
        a = s["agreement"]
        lines.append(
            f"| {name} ({s['how']}) | {a['rows']} | {a['ours_negative']} | {a['cold_offensive']} | {a['agree']:.3f} "
            f"| {a['cold_only']} | {a['ours_only']} |"
        )
    lines += [
        "",
        "Each model's negativity score on the dev samples: average precision against our labels, and accuracy at "
        "the model's own threshold against our labels and against COLD's (calling everything safe, against ours, "
        "for scale).",
        "",
        "| model | sample | threshold | flagged | AP (ours) | accuracy (ours) | accuracy (COLD) | all safe (ours) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for model, per_sample in views.items():
        for name, v in per_sample.items():
            lines.append(
                f"| {_relative(model)} | {name} | {v['threshold']:.2f} | {v['flagged']} | {v['ap_ours']:.3f} "
                f"| {v['acc_ours']:.3f} | {v['acc_cold']:.3f} | {v['all_safe_ours']:.3f} |"
            )
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("wrote", args.output)


if __name__ == "__main__":
    main()

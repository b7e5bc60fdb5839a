"""The default encoder, offline: both backends agree, vectors are normalised, batching is invisible."""

from __future__ import annotations

import numpy as np
import pytest

from nlp.embed import Encoder, ModelNotFetchedError

EXTRA = [
    "加VX：abc_123 领资料",
    "V信 ①③⑧ 0000 1111",
    "你是不是傻，滚出去",
    "這個軟體很好用",
    "+1",
    "收到",
    "哈哈哈哈哈哈哈哈哈哈",
    "明天下午三点在二号会议室开会，大家记得带电脑，有问题私聊我，" * 8,  # longer than max_length
]


def test_backends_agree_on_every_sample_message(onnx_encoder, torch_encoder, sample_texts) -> None:
    texts = sample_texts + EXTRA
    a = onnx_encoder.encode(texts)
    b = torch_encoder.encode(texts)
    assert a.shape == b.shape == (len(texts), 512)
    cosine = (a * b).sum(axis=1)
    worst = int(np.argmin(cosine))
    assert cosine.min() >= 0.99, (texts[worst], float(cosine[worst]))


def test_vectors_are_unit_length(onnx_encoder) -> None:
    vectors = onnx_encoder.encode(EXTRA)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_upper_case_contact_words_embed_like_lower_case(onnx_encoder) -> None:
    upper, lower = onnx_encoder.encode(["加VX领取", "加vx领取"])
    assert float(upper @ lower) > 0.999


def test_batching_and_duplicates_barely_change_results(onnx_encoder, sample_texts) -> None:
    # Dynamic int8 quantisation scales activations per batch tensor, so a text's vector depends
    # slightly on its batch-mates: bounded here, documented in docs/benchmarks.md.
    texts = sample_texts[:60] + sample_texts[:20]
    big = onnx_encoder.encode(texts, batch_size=64)
    small = onnx_encoder.encode(texts, batch_size=3)
    assert (big * small).sum(axis=1).min() >= 0.99
    np.testing.assert_array_equal(big[60:], big[:20])  # duplicates are embedded once and fanned out


def test_torch_backend_is_batch_invariant(torch_encoder, sample_texts) -> None:
    texts = sample_texts[:40]
    np.testing.assert_allclose(
        torch_encoder.encode(texts, batch_size=40), torch_encoder.encode(texts, batch_size=4), atol=1e-5
    )


def test_semantics_survive(onnx_encoder) -> None:
    question, answer, unrelated = onnx_encoder.encode(
        ["宝宝发烧38.5度要不要吃退烧药", "孩子发烧了可以吃美林退烧", "PPT母版怎么设置默认字体"]
    )
    assert question @ answer > question @ unrelated


def test_empty_input_and_single_string_misuse(onnx_encoder) -> None:
    assert onnx_encoder.encode([]).shape == (0, 512)
    with pytest.raises(TypeError):
        onnx_encoder.encode("一条消息")


def test_unfetched_default_model_gives_a_clear_error(tmp_path) -> None:
    with pytest.raises(ModelNotFetchedError, match="qunshao model fetch"):
        Encoder(home=tmp_path)


def test_local_model_directory_works_with_both_backends(onnx_encoder, tmp_path) -> None:
    # Any local sentence-transformers/transformers directory is accepted: here a copy of the default.
    import shutil

    local = tmp_path / "my-model"
    shutil.copytree(onnx_encoder.resolved.path, local, ignore=shutil.ignore_patterns("onnx", "qunshao-model.json"))
    by_path = Encoder(str(local), backend="onnx", home=tmp_path / "home")
    assert (tmp_path / "home" / "onnx").exists()  # its own int8 file was built on first use
    text = ["跑完步小腿酸痛怎么拉伸"]
    assert float(by_path.encode(text)[0] @ onnx_encoder.encode(text)[0]) > 0.999

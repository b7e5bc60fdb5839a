"""The default encoder, offline: both backends agree, vectors are normalised, batching is invisible."""

from __future__ import annotations

import numpy as np
import pytest

from nlp.embed import Encoder, ModelNotFetchedError
from nlp.embed.encoder import default_device

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


def test_vectors_do_not_depend_on_batching(onnx_encoder, sample_texts) -> None:
    # Per-token activation scales: a text's vector is the same whatever it is batched with.
    texts = sample_texts[:60] + sample_texts[:20]
    cache_size, onnx_encoder.cache_size = onnx_encoder.cache_size, 0
    onnx_encoder._cache.clear()
    try:
        big = onnx_encoder.encode(texts, batch_size=64)
        small = onnx_encoder.encode(texts, batch_size=3)
        single = np.vstack([onnx_encoder.encode([t]) for t in texts[:10]])
    finally:
        onnx_encoder.cache_size = cache_size
    np.testing.assert_allclose(small, big, atol=1e-5)
    np.testing.assert_allclose(single, big[:10], atol=1e-5)
    np.testing.assert_array_equal(big[60:], big[:20])  # duplicates are embedded once and fanned out


def test_token_budget_batches_and_cache(sample_texts, default_model) -> None:
    from nlp.embed import Encoder

    encoder = Encoder(token_budget=50, batch_size=8, cache_size=5)
    batches = encoder.batches([30, 3, 3, 3, 10, 3, 3, 3, 3, 3, 3, 3])
    assert sorted(i for b in batches for i in b) == list(range(12))
    lengths = [30, 3, 3, 3, 10, 3, 3, 3, 3, 3, 3, 3]
    for batch in batches:
        assert (len(batch) <= 8 and len(batch) * max(lengths[i] for i in batch) <= 64) or len(batch) == 1
    assert batches[0] == [0]  # the longest goes first, alone: 2 x 30 tokens would pass the budget
    first = encoder.encode(sample_texts[:8])
    assert len(encoder._cache) == 5  # bounded
    np.testing.assert_array_equal(encoder.encode(sample_texts[3:8]), first[3:8])  # served from the cache


def test_torch_backend_is_batch_invariant(torch_encoder, sample_texts) -> None:
    texts = sample_texts[:40]
    np.testing.assert_allclose(
        torch_encoder.encode(texts, batch_size=40), torch_encoder.encode(texts, batch_size=4), atol=1e-5
    )


def test_torch_fast_path_matches_sentence_transformers_encode(torch_encoder, sample_texts) -> None:
    # The backend tokenises once and runs the modules itself; it must give what ``encode`` gives.
    from nlp.text.normalize import normalize

    texts = sample_texts[:60]
    assert torch_encoder.backend._direct
    reference = torch_encoder.backend.model.encode(
        [normalize(t) for t in texts], normalize_embeddings=True, convert_to_numpy=True
    )
    np.testing.assert_allclose(torch_encoder.encode(texts), reference, atol=1e-5)


@pytest.mark.skipif(default_device() != "cuda", reason="needs CUDA (runs where a GPU is present)")
def test_cuda_fp16_matches_the_cpu_reference(torch_encoder, sample_texts) -> None:
    gpu = Encoder(device="cuda", cache_size=0)
    assert gpu.backend_name == "torch" and gpu.token_budget > torch_encoder.token_budget
    texts = list(dict.fromkeys(sample_texts))
    cosine = (gpu.encode(texts) * torch_encoder.encode(texts)).sum(axis=1)
    assert cosine.min() > 0.999
    np.testing.assert_allclose(gpu.encode(texts[:40], batch_size=40), gpu.encode(texts[:40], batch_size=4), atol=2e-3)


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


def test_texts_evicted_between_tokenize_and_encode_are_still_embedded(sample_texts, default_model) -> None:
    # score_stream tokenises batch k+1 while batch k runs; batch k may evict what k+1 found cached.
    from nlp.embed import Encoder
    from nlp.text import normalize

    encoder = Encoder(cache_size=4)
    encoder.encode(sample_texts[:4])  # cached now
    pending = encoder.tokenize([normalize(t) for t in sample_texts[:6]])  # only texts 4 and 5 need the model
    encoder.encode(sample_texts[10:20])  # evicts the first four
    vectors = encoder.encode_tokenized(pending)
    fresh = Encoder(cache_size=0).encode(sample_texts[:6])
    np.testing.assert_allclose(vectors, fresh, atol=1e-5)


def test_vector_cache_bounds_and_recency(tmp_path) -> None:
    from nlp.embed.vector_cache import VectorCache

    cache = VectorCache(tmp_path, "a" * 64, dim=4, max_entries=3)
    cache.put_many((f"t{i}", np.full(4, i, dtype=np.float32)) for i in range(3))
    assert set(cache.get_many(["t0"])) == {"t0"}  # t0 used again: t1 is now the oldest
    cache.put_many([("t3", np.ones(4)), ("t4", np.ones(4))])
    assert len(cache) == 3
    assert set(cache.get_many(["t0", "t1", "t2", "t3", "t4"])) == {"t0", "t3", "t4"}
    with pytest.raises(ValueError, match="shape"):
        cache.put_many([("bad", np.ones(5))])
    reopened = VectorCache(tmp_path, "a" * 64, dim=4, max_entries=3)  # what was committed is on disk
    np.testing.assert_array_equal(reopened.get_many(["t0"])["t0"], np.zeros(4, dtype=np.float32))


def test_vector_cache_across_runs_embeds_only_new_texts(onnx_encoder, torch_encoder, sample_texts, tmp_path) -> None:
    texts = list(dict.fromkeys(sample_texts))[:30]
    first = Encoder(vector_cache=tmp_path, cache_size=0)
    before = first.encode(texts)
    second = Encoder(vector_cache=tmp_path, cache_size=0)  # a new run: empty memory cache
    seen: list[int] = []
    embed = second.backend.embed_tokens
    second.backend.embed_tokens = lambda batch: (seen.append(len(batch)), embed(batch))[1]
    np.testing.assert_array_equal(second.encode(texts), before)  # the model's own vectors, not approximations
    assert seen == []
    second.encode([*texts[:5], "今天新来的一条消息"])
    assert seen == [1]
    # Another model (here: the torch backend of the same weights) never reads these vectors.
    assert len({onnx_encoder.model_key(), torch_encoder.model_key(), first.model_key()}) == 2
    assert first.model_key() == onnx_encoder.model_key()

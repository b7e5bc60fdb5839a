"""Canonical text: width, case, 繁->简, invisible characters, spacing and repetition."""

import random
import threading
import unicodedata

import pytest

from nlp.text import normalize, normalize_aligned, to_simplified
from nlp.text.aligned import AlignedText
from nlp.text.normalize import (
    _DINGBAT_DIGITS,
    _FOLDS_ALONE,
    _fold_aligned,
    _fold_char,
    normalize_aligned_many,
    to_simplified_many,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＰＰＴ模板１２３", "ppt模板123"),  # full-width letters and digits
        ("请问ＷＰＳ怎么插入视频？", "请问wps怎么插入视频?"),
        ("加\u200b微\u200c信\u200d", "加微信"),  # zero-width joiners inserted to dodge filters
        ("\ufeff收到", "收到"),
        ("❤️好看", "❤好看"),  # emoji variation selector dropped
        ("①②③", "123"),
        ("❶❷❸ ➀➁", "123 12"),
        ("  好的   谢谢  ", "好的 谢谢"),
        ("加 微 信 领 红 包", "加微信领红包"),
        ("@小鹿 明天见", "@小鹿 明天见"),  # a word-level space survives
        ("哈哈哈哈哈哈哈哈", "哈哈哈"),
        ("！！！！！", "!!!"),
        ("13800000000", "13800000000"),  # digits are never squeezed
        ("一三八零零零零一一一一", "一三八零零零零一一一一"),  # nor Chinese numerals
        ("我們在討論頭髮與發展", "我们在讨论头发与发展"),
        ("這個軟體羣組裡說話", "这个软体群组里说话"),
        ("VX", "vx"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_traditional_phrases_convert_by_context() -> None:
    # 發 -> 发 in both 頭髮 and 發展: phrase-aware conversion, not a single-character table
    assert to_simplified("理髮店的發展") == "理发店的发展"


def test_a_batch_converts_each_text_as_alone() -> None:
    # one OpenCC call for a batch: 乾 alone is 干, in the phrase 乾隆 it stays; two texts side by
    # side (天乾 then 隆冬) must not read as one phrase
    assert to_simplified("天乾隆冬") == "天乾隆冬"
    texts = ["天乾", "隆冬", "abc", "", "頭髮\n乾隆", "乾", "隆", "理髮店的發展", "😀🙏", " 瞭解 "]
    assert to_simplified_many(texts) == [to_simplified(text) for text in texts]
    assert to_simplified_many(texts)[:2] == ["天干", "隆冬"]
    raw = ["ＶＸ：ａｂｃ１２３", "天乾", "隆冬\n好的", "加 微 信", "[强][强]", "哈哈哈哈哈哈", "\u200b", ""]
    for many, one in zip(normalize_aligned_many(raw), map(normalize_aligned, raw), strict=True):
        assert (many.text, many.starts, many.ends) == (one.text, one.starts, one.ends)


def test_a_batch_folds_each_text_as_alone() -> None:
    # from 32 texts on, folding is a code-point table lookup over the whole batch: the same texts
    # and alignments as one by one, with characters that fold to two (ß, ﬁ, ㎏, ❿), to nothing
    # (invisible marks), combining ones, emoji beyond the BMP and upper-case and full-width ASCII
    rng = random.Random(3)
    alphabet = [*"¨´¸½ÀéİßŉΣﬁ™Ⅻ≠①⑴⒈❿ｶﾞ｡「」，！Ａｚ～￥\u3000㈱㎏e\u0301\u200b😀🙏VXabc 加微信頭髮乾隆哈", "\n"]
    raw = ["".join(rng.choices(alphabet, k=rng.randint(0, 16))) for _ in range(3000)]
    raw += ["ＶＸ：ａｂｃ１２３", "全是ascii lower", "ASCII Upper", "", "頭髮\n乾隆"]
    for many, one in zip(normalize_aligned_many(raw), map(normalize_aligned, raw), strict=True):
        assert (many.text, many.starts, many.ends) == (one.text, one.starts, one.ends), one.text


def test_an_unpaired_surrogate_is_dropped_not_a_crash() -> None:
    # a Python caller (bot, API) can pass half an emoji; the readers refuse it, the text stage drops
    # it: OpenCC, the n-gram and repetition code points would otherwise raise UnicodeEncodeError
    from nlp.classify.features import text_block

    assert normalize("哈哈\ud83d好\udfff") == "哈哈好"
    for copies in (2, 40):  # a bot's few texts and a batch (numpy paths)
        block = text_block(["哈哈\ud83d加我微信abc123"] * copies)
        assert block.analyses[0].normalized == "哈哈加我微信abc123"
        assert [s.kind for s in block.analyses[0].signals] == ["contact_cue", "wechat"]
        assert block.ngrams.shape[0] == copies


def test_simplified_text_is_unchanged() -> None:
    text = "今天的作业是把第三课的案例页重新排一遍"
    assert normalize(text) == text


def test_alignment_points_back_to_the_original() -> None:
    raw = "请加\u200bＶＸ：ａｂｃ"
    aligned = normalize_aligned(raw)
    assert aligned.text == "请加vx:abc"
    start, end = aligned.source_span(aligned.text.index("vx"), aligned.text.index("vx") + 2)
    assert raw[start:end] == "ＶＸ"


def test_alignment_survives_folds_that_change_length() -> None:
    # NFKC turns one character into several (㎏ -> kg, ⑳ -> 20) and dingbat ⓫ into 11: every output
    # character still points at the one character it came from
    raw = "Ａ㎏装⑳个⓫号"
    aligned = normalize_aligned(raw)
    assert aligned.text == "a" + "kg装20个11号"
    for i, ch in enumerate(aligned.text):
        start, end = aligned.source_span(i, i + 1)
        assert end - start == 1
        assert raw[start] in {"a": "Ａ", "k": "㎏", "g": "㎏", "2": "⑳", "0": "⑳", "1": "⓫"}.get(ch, ch)


def test_normalize_is_thread_safe() -> None:
    texts = ["這個軟體很好用", "ＰＰＴ模板", "哈哈哈哈哈哈"] * 200
    expected = [normalize(t) for t in texts]
    results: list[list[str]] = []

    def work() -> None:
        results.append([normalize(t) for t in texts])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == expected for r in results)


def test_wechat_emoji_names_read_as_the_emoji_they_stand_for() -> None:
    assert normalize("[强][强][强][强]") == normalize("👍👍👍👍") == "👍👍👍"
    assert normalize("好的[OK]") == "好的👌" and normalize("[強]") == "👍"  # case folded, traditional first
    assert normalize("[张三]你好") == "[张三]你好"  # only the panel's names
    aligned = normalize_aligned("好的[OK]收到")
    at = aligned.text.index("👌")
    assert aligned.source_span(at, at + 1) == (2, 6)  # the whole name in the message as sent


def test_qq_face_codes_read_as_emoji_where_a_slash_cannot_be_ordinary_text() -> None:
    assert normalize("有意私/玫瑰/玫瑰") == normalize("有意私🌹🌹")  # a name of two characters: anywhere
    assert normalize("/强") == "👍" and normalize("说得对 /强") == "说得对 👍"
    # one character with a word on either side is ordinary text; so are ASCII names and link paths
    for text in ("强/弱", "红/色", "早饭/午饭", "男/女", "收到/强", "https://a.com/ok", "http://x.cn/刀"):
        assert normalize(text) == text
    # QQ's newer faces as well; a list of actions that share a face's word stays text
    assert normalize("好的/比心/笑哭") == "好的🫶😂" and normalize("[doge]") == "🐶"
    assert normalize("关注/点赞/评论") == "关注/点赞/评论"
    aligned = normalize_aligned("私/玫瑰")
    at = aligned.text.index("🌹")
    assert aligned.source_span(at, at + 1) == (1, 4)


def test_an_emoji_name_inside_a_contact_word_is_an_obfuscation() -> None:
    from nlp.text import analyze

    found = {s.kind: s for s in analyze("需要的加微[爱心]信：abc_123").signals}
    assert found["wechat"].value == "abc_123" and found["wechat"].obfuscated


def _composes_onto_the_one_before() -> set[str]:
    """Characters that canonical composition can join to the character before them: the second of
    every two-character canonical decomposition, and Hangul vowels and final consonants."""
    seconds = {chr(c) for c in [*range(0x1161, 0x1176), *range(0x11A8, 0x11C3)]}
    for point in range(0x110000):
        parts = unicodedata.decomposition(chr(point)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            seconds.add(chr(int(parts[1], 16)))
    return seconds


def test_characters_folded_in_one_call_fold_alike_in_any_neighbourhood() -> None:
    # a message made of them is folded by one NFKC call instead of character by character: that
    # is the same only where nothing combines, reorders or composes across two characters
    seconds = _composes_onto_the_one_before()
    alone = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and _FOLDS_ALONE.fullmatch(chr(c))]
    assert len(alone) > 30_000 and "，" in alone and "Ｗ" in alone and "😂" in alone
    for ch in alone:
        first = unicodedata.normalize("NFKD", ch)[0]
        assert not unicodedata.combining(ch) and not unicodedata.combining(first), ch
        assert first not in seconds and ch not in _DINGBAT_DIGITS, ch
    rng = random.Random(0)
    tricky = "¨´¸½ÀéİßŉΣﬁ™Ⅻ≠①⑴⒈ｶﾞ｡「」，！Ａｚ～￥\u3000㈱"
    for _ in range(2000):
        text = "".join(
            rng.choice(alone) if rng.random() < 0.5 else rng.choice(tricky) for _ in range(rng.randint(1, 12))
        )
        stepwise = AlignedText.of(text).map_chars(_fold_char)
        if _FOLDS_ALONE.fullmatch(text):
            assert unicodedata.normalize("NFKC", text).casefold() == stepwise.text, text
            got = _fold_aligned(AlignedText.of(text))
            assert (got.text, got.starts, got.ends) == (stepwise.text, stepwise.starts, stepwise.ends), text

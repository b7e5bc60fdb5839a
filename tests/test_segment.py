"""jieba segmentation of chat text with the shipped user dictionary and stopwords."""

import threading

import pytest

from nlp.text import Segmenter, analyze, default_segmenter, normalize


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("yyds绝绝子", ["yyds", "绝绝子"]),
        ("看完直接破防了", ["破防"]),
        ("今天早安打卡了吗", ["早安打卡"]),
        ("明天接龙报名", ["接龙"]),
        ("兼职刷单日结", ["兼职", "刷单", "日结"]),
        ("别在群里带节奏", ["带节奏"]),
        ("这种引流的都踢了", ["引流"]),
        ("PPT母版怎么改", ["ppt"]),  # after normalisation the user dictionary's lower-case entry matches
        ("躺平摆烂算了", ["躺平", "摆烂"]),
    ],
)
def test_chat_slang_is_kept_whole(text: str, words: list[str]) -> None:
    tokens = default_segmenter().cut(normalize(text))
    for word in words:
        assert word in tokens, tokens


def test_keywords_drop_filler_and_punctuation() -> None:
    keywords = default_segmenter().keywords(normalize("哈哈哈，我们这个PPT的配色真的太丑了吧！！"))
    assert "配色" in keywords
    for filler in ("哈哈哈", "我们", "这个", "吧", "!", ","):
        assert filler not in keywords


def test_custom_user_dictionary_and_stopwords(tmp_path) -> None:
    user_dict = tmp_path / "dict.txt"
    user_dict.write_text("南山夜跑团 100 n\n", "utf-8")
    segmenter = Segmenter(user_dict=user_dict, stopwords={"今晚"})
    assert "南山夜跑团" in segmenter.cut("今晚南山夜跑团集合")
    assert "今晚" not in segmenter.keywords("今晚南山夜跑团集合")


def test_segmenter_is_safe_across_threads() -> None:
    segmenter = Segmenter()  # fresh: the first calls race to initialise it
    text = normalize("请问母版里的占位符怎么设置默认字体")
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda: results.append(segmenter.cut(text))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6 and all(r == results[0] for r in results)
    assert "母版" in results[0]


def test_analysis_tokens_come_from_normalised_text() -> None:
    analysis = analyze("這個ＰＰＴ模板很好看")
    assert analysis.normalized == "这个ppt模板很好看"
    assert "模板" in analysis.tokens and "ppt" in analysis.tokens

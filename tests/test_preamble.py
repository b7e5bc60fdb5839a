"""Where a message's own words start after a greeting, a wish or a self-introduction."""

from __future__ import annotations

import time

import pytest

from nlp.text.preamble import after_preamble


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("早上好！我是楼下健身房的教练小李，本周办年卡送私教课两节", "本周办年卡送私教课两节"),
        ("祝各位妇女节快乐！美容院今天起全套护理六折，名额有限", "美容院今天起全套护理六折，名额有限"),
        ("哈喽各位烘焙爱好者，我是卖原料的阿梅，黄油淡奶油批发价出", "黄油淡奶油批发价出"),
        ("跑友们早安！工厂店清仓，跑鞋全场两折起", "工厂店清仓，跑鞋全场两折起"),
        ("不好意思打扰大家了，有没有人知道哪里能修自行车", "有没有人知道哪里能修自行车"),
        ("@所有人 新年好！本店年货礼盒团购，下单加v", "本店年货礼盒团购，下单加v"),
        ("HELLO 各位，今天分享一个调试技巧", "今天分享一个调试技巧"),
    ],
)
def test_the_words_after_a_preamble(text: str, rest: str) -> None:
    assert after_preamble(text) == rest


@pytest.mark.parametrize(
    "text",
    [
        "早安",  # nothing after it
        "早上好，吃了吗",  # too little after it to judge on its own
        "我们机构暑期夏令营火热招生中，前二十名报名送教材",  # 我们 opens a sentence, not a greeting
        "好的，那周末一起去吃火锅吧",  # an answer is not a greeting
        "大家好好学习天天向上不要偷懒",  # a greeting word inside a clause that goes on
        "今天好开心，终于跑完了第一个半马",
    ],
)
def test_no_preamble_or_nothing_left(text: str) -> None:
    assert after_preamble(text) is None


def test_preamble_check_stays_fast_on_long_near_misses() -> None:
    started = time.perf_counter()
    for text in ("大家好" * 3000 + "x", "早" * 10000 + "x", "早上好" * 3000 + "们x", "祝" * 5000 + "快乐x"):
        assert after_preamble(text) is None
    assert after_preamble("早安，" * 3000 + "买" * 10) is not None  # peels at most a few clauses
    assert time.perf_counter() - started < 0.5

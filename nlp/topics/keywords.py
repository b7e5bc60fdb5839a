"""Topic keywords by class-based TF-IDF (c-TF-IDF, as in BERTopic) over jieba words.

All messages of a topic form one document; a word scores high when it is frequent in that topic
and rare across the group's topics: ``tf(w, topic) * log(1 + mean words per topic / freq(w))``.
Only content words count: no stopwords, no chat filler (收到, 好的, 谢谢, 哈哈 ...), no single
characters, no punctuation or bare numbers, so a label reads like what the topic is about.

May import :mod:`nlp.text`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from nlp.text import Segmenter, default_segmenter, strip_placeholders

# Chat filler that is not in the general stopword list but never names a topic (team-written).
CHAT_FILLER = frozenset(
    """
    好的 收到 谢谢 感谢 多谢 明白 了解 知道 觉得 感觉 问题 怎么办 一个 没有 现在 时候 今天 明天 昨天 真的 还有
    是不是 有没有 要不要 能不能 可能 应该 需要 比较 一样 东西 事情 自己 别人 直接 一起 一点 一些 之前 之后 以后
    那就 就是 还是 不是 不要 不会 已经 一直 特别 非常 确实 厉害 记得 试试 看看 好多 太多 这么 那么 然后 而且
    嗯嗯 哈哈哈哈 呵呵 嘿嘿 哈哈哈 哈哈 啊啊 好滴 好哒 辛苦 辛苦了 学到 收藏 顺利 私聊 大家 各位 群里
    今年 去年 明年 今晚 昨晚 明晚 晚上 早上 上午 下午 中午 周末 最近 刚刚 马上 一会儿 出来 起来 下来 过来
    """.split()
)
# Counts and durations (十八个, 两针, 半小时, 3天): numbers say how much, not what about.
_QUANTITY = re.compile(
    r"^[0-9零一二两三四五六七八九十百千万几半多]+[个次天年月日号点分秒岁周针遍章页块元斤条张台]*(?:小时|分钟|公里|左右)?$"
)


def is_keyword(token: str, segmenter: Segmenter) -> bool:
    return (
        len(token) >= 2
        and token not in segmenter.stopwords
        and token not in CHAT_FILLER
        and any(ch.isalpha() for ch in token)
        and not _QUANTITY.match(token)
    )


def content_words(text: str, segmenter: Segmenter | None = None) -> list[str]:
    """The words of ``text`` that may name a topic; an export's placeholders (``[图片]``) never do."""
    seg = segmenter or default_segmenter()
    return [t for t in seg.cut(strip_placeholders(text)) if is_keyword(t, seg)]


def ctfidf_keywords(docs: Sequence[Sequence[str]], top_n: int = 6, min_count: int = 2) -> list[list[tuple[str, float]]]:
    """For each class (its messages' content words, concatenated), the ``top_n`` words by c-TF-IDF.

    A word must occur ``min_count`` times in the class (once is an accident of one message) unless
    the class is too small to have any such word."""
    counts = [Counter(words) for words in docs]
    frequency: Counter[str] = Counter()
    for c in counts:
        frequency.update(c)
    mean_words = sum(frequency.values()) / max(len(counts), 1)
    out = []
    for c in counts:
        total = sum(c.values()) or 1
        floor = min_count if any(n >= min_count for n in c.values()) else 1
        scored = [(word, n / total * math.log(1 + mean_words / frequency[word])) for word, n in c.items() if n >= floor]
        scored.sort(key=lambda item: (-item[1], item[0]))
        out.append([(w, round(s, 4)) for w, s in scored[:top_n]])
    return out

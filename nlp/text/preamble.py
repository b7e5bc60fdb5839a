"""Where a message's own business starts, after a greeting, a holiday wish or a self-introduction.

Why: group chat wraps a pitch in politeness (``早上好！我是楼下健身房的教练小李，本周办年卡送私教课两节``,
``祝各位妇女节快乐！美容院今天起全套护理六折``). Greetings are chatter in every group, so a model
reading the whole message sees mostly chatter: in a short message the greeting dominates both the
sentence vector and the n-grams, and the same offer without it scores 0.96-1.00 as an ad where the
wrapped one scored 0.05. Training on more wrapped pitches did not fix it (docs/eval-notes.md, the
sixteenth data batch), so :class:`~nlp.classify.MessageClassifier` also scores the part after the
preamble for the labels where a wrapper can hide the substance (ads).

The rules peel whole leading clauses only (a clause ends at punctuation or a space), and only the
forms members open with: greetings and salutations to the group, apologies for interrupting,
holiday and good wishes, and a short "I am ..." introduction. Written from moderation experience,
not from any evaluation set. Operates on raw text (both widths of punctuation, either case), so it
runs before normalisation in the text stage; the part it returns is analysed like any message.
"""

from __future__ import annotations

import re

# A clause ends at one of these (or at the end of the text); a run of them is one boundary.
_END = r"(?:[\s,，.。!！~～、;；:：…·]+|$)"
_PARTICLE = r"(?:呀|啊|哦|哈|啦|噢|喔|哟|嘛)*"
_EMOJI = r"[\U0001F300-\U0001FAFF\u2600-\u27BF]*"
_ADDRESS = (
    r"(?:@(?:所有人|全体成员)|大家|各位[\u4e00-\u9fff]{0,6}?|诸位|亲爱的[\u4e00-\u9fff]{0,6}?|亲们?|"
    r"(?:家人|宝子|宝宝|姐妹|兄弟|朋友|群友|老铁|宝妈|家长|邻居|同学|小伙伴|伙伴)们|群里的?(?:朋友|家人|小伙伴)们?|everyone|guys)"
)
# Beside a greeting any "X们" is the group being addressed (跑友们早安, 早安铲屎官们); alone it may not be.
_ADDRESSED = rf"(?:{_ADDRESS}|[\u4e00-\u9fff]{{1,5}}们)"
_GREET = r"(?:早上好|上午好|中午好|下午好|晚上好|早安|午安|晚安|大家好|大家早|你们?好|您好|哈喽|哈罗|hello|hi|hey|嗨|在吗|早)"
_HOLIDAY = (
    r"(?:新年|新春|春节|元旦|元宵|中秋|国庆|端午|清明|七夕|圣诞|冬至|小年|除夕|腊八|重阳|"
    r"(?:妇女|母亲|父亲|儿童|教师|劳动|情人|青年|护士|建军|平安)节|节日|周末|假期|新的一周)"
)
_CLAUSES = (
    # salutations: 大家好, 各位家长早上好, 早, hello各位, @所有人
    rf"{_ADDRESS}(?:{_GREET}|好)*|{_ADDRESSED}{_GREET}+|{_GREET}+{_ADDRESSED}?",
    # apologising for the interruption: 打扰一下, 不好意思打扰大家了, 冒昧打扰
    r"(?:不好意思|冒昧|抱歉)?(?:打扰|叨扰)(?:一下|下|了|大家|各位)*(?:了)?|不好意思",
    # good wishes: 祝大家中秋快乐, 新年好, 恭喜发财, 周末愉快, 国庆节快乐
    r"(?:提前|在此)?(?:祝|预祝|恭祝)?[\u4e00-\u9fff]{0,10}?(?:快乐|安康|吉祥|如意|大吉|愉快|顺利|平安)",
    rf"{_HOLIDAY}(?:好|佳节)?|恭喜发财|过年好|万事如意",
    # introductions: 我是楼下健身房的教练小李, 本人宝妈一枚, 新人报到
    r"(?:我是|我叫|本人是?|鄙人|在下)[^\s,，.。!！~～、;；:：…]{1,20}|新人(?:报到|报道|求关照|一枚)|初来乍到|刚进群",
)
_PREAMBLE = re.compile(rf"(?:{'|'.join(_CLAUSES)}){_PARTICLE}{_EMOJI}{_END}", re.IGNORECASE)
_CONTENT = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
MIN_CONTENT = 6  # characters of words or digits left after the preamble; fewer say nothing of their own
MAX_CLAUSES = 4


def after_preamble(text: str) -> str | None:
    """The text after its leading greeting / wish / introduction clauses, or None when it opens
    with none, or what is left is too short to judge on its own (``早上好，吃了吗`` leaves ``吃了吗``)."""
    start = len(text) - len(text.lstrip())
    peeled = 0
    while peeled < MAX_CLAUSES:
        m = _PREAMBLE.match(text, start)
        if m is None or m.end() == start:
            break
        start, peeled = m.end(), peeled + 1
    if not peeled:
        return None
    rest = text[start:].strip()
    return rest if len(_CONTENT.findall(rest)) >= MIN_CONTENT else None

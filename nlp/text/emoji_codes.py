"""WeChat's built-in emoji as they appear in text: ``[强]``, ``[捂脸]``, ``[破涕为笑]``; QQ's ``/强``.

WeChat writes its own emoji panel into a message as a bracketed name, and that is what exports,
copied text and bots receive. Read as text they are not emoji at all: the characters of ``[强]``,
``[色]`` or ``[菜刀]`` become n-grams, and the models, trained on chat where emoji are Unicode,
called ``[强][强][强]`` (a thumbs-up, the commonest acknowledgement in a WeChat group) off-topic
chatter at 0.77 while ``👍👍👍`` scored 0.00. Normalisation (step 3b in :mod:`nlp.text.normalize`)
turns each known name into the Unicode emoji closest in meaning, aligned to the whole bracketed
name, so both spellings read the same. Names are the panel's (simplified; a traditional-Chinese
client's ``[強]`` is converted first); the table is the team's, from the app.

Imports only the standard library.
"""

from __future__ import annotations

import re

WECHAT_EMOJI: dict[str, str] = {
    # faces
    "微笑": "🙂",
    "撇嘴": "😦",
    "色": "😍",
    "发呆": "😳",
    "得意": "😎",
    "流泪": "😢",
    "害羞": "😊",
    "闭嘴": "🤐",
    "睡": "😴",
    "大哭": "😭",
    "尴尬": "😅",
    "发怒": "😡",
    "调皮": "😜",
    "呲牙": "😁",
    "惊讶": "😲",
    "难过": "🙁",
    "酷": "😎",
    "冷汗": "😰",
    "囧": "😳",
    "抓狂": "😫",
    "吐": "🤮",
    "偷笑": "🤭",
    "可爱": "😊",
    "愉快": "😊",
    "白眼": "🙄",
    "傲慢": "😤",
    "饥饿": "😋",
    "困": "😪",
    "惊恐": "😱",
    "流汗": "😓",
    "憨笑": "😄",
    "悠闲": "😌",
    "大兵": "🫡",
    "奋斗": "💪",
    "咒骂": "🤬",
    "疑问": "❓",
    "嘘": "🤫",
    "晕": "😵",
    "疯了": "🤪",
    "折磨": "😖",
    "衰": "😞",
    "骷髅": "💀",
    "敲打": "🔨",
    "再见": "👋",
    "擦汗": "😓",
    "抠鼻": "🤨",
    "鼓掌": "👏",
    "糗大了": "😳",
    "坏笑": "😏",
    "左哼哼": "😤",
    "右哼哼": "😤",
    "哈欠": "🥱",
    "鄙视": "😒",
    "委屈": "🥺",
    "快哭了": "😢",
    "阴险": "😈",
    "亲亲": "😘",
    "吓": "😨",
    "可怜": "🥺",
    "笑脸": "😄",
    "生病": "😷",
    "脸红": "😳",
    "破涕为笑": "😂",
    "恐惧": "😱",
    "失望": "😞",
    "无语": "😑",
    "嘿哈": "😆",
    "捂脸": "🤦",
    "奸笑": "😏",
    "机智": "🤓",
    "皱眉": "😟",
    "耶": "✌",
    "吃瓜": "🍉",
    "加油": "💪",
    "汗": "😓",
    "天啊": "😱",
    "emm": "🤔",
    "社会社会": "👍",
    "旺柴": "🐶",
    "好的": "👌",
    "打脸": "🤕",
    "哇": "😮",
    "翻白眼": "🙄",
    "666": "👍",
    "让我看看": "👀",
    "叹气": "😔",
    "苦涩": "😣",
    "裂开": "💔",
    # hands and gestures
    "强": "👍",
    "弱": "👎",
    "握手": "🤝",
    "胜利": "✌",
    "抱拳": "🙏",
    "勾引": "👉",
    "拳头": "👊",
    "差劲": "👎",
    "爱你": "🤟",
    "no": "🙅",
    "ok": "👌",
    "合十": "🙏",
    "拥抱": "🤗",
    # things
    "嘴唇": "💋",
    "爱心": "❤",
    "心碎": "💔",
    "示爱": "💕",
    "玫瑰": "🌹",
    "凋谢": "🥀",
    "啤酒": "🍺",
    "咖啡": "☕",
    "饭": "🍚",
    "蛋糕": "🎂",
    "西瓜": "🍉",
    "猪头": "🐷",
    "菜刀": "🔪",
    "刀": "🔪",
    "炸弹": "💣",
    "便便": "💩",
    "月亮": "🌙",
    "太阳": "🌞",
    "闪电": "⚡",
    "礼物": "🎁",
    "红包": "🧧",
    "福": "🧧",
    "發": "🧧",
    "发": "🧧",
    "庆祝": "🎉",
    "烟花": "🎆",
    "爆竹": "🧨",
    "篮球": "🏀",
    "足球": "⚽",
    "乒乓": "🏓",
    "瓢虫": "🐞",
    "跳跳": "💃",
    "发抖": "🥶",
    "怄火": "😠",
    "转圈": "💫",
}

_NAMES = "|".join(re.escape(name) for name in sorted(WECHAT_EMOJI, key=len, reverse=True))
EMOJI_CODE = re.compile(rf"\[({_NAMES})\]")

# QQ writes the same classic faces (WeChat took its first panel from QQ) as ``/name`` inline:
# ``需要的私/玫瑰``, ``收到/强``. A slash is also ordinary text (``男/女``, ``强/弱``, link paths), so:
# only Chinese names; a name of two or more characters wherever it stands; a one-character name
# (``/强``, ``/饭``, ``/色``) only where no word runs into it on either side.
_LONG = "|".join(re.escape(n) for n in sorted(WECHAT_EMOJI, key=len, reverse=True) if len(n) > 1 and not n.isascii())
_SHORT = "".join(re.escape(n) for n in WECHAT_EMOJI if len(n) == 1 and not n.isascii())
QQ_FACE_CODE = re.compile(rf"/({_LONG})|(?<![\w/.])/([{_SHORT}])(?!\w)")


def to_emoji(match: re.Match[str]) -> str:
    """For :data:`EMOJI_CODE` and :data:`QQ_FACE_CODE` matches alike: the name's emoji."""
    return WECHAT_EMOJI[match.group(1) or match.group(2)]

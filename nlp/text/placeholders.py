"""What chat exports put where a message had no text: media placeholders and system notices.

WeChat, QQ and Telegram exports (and our readers, nlp.io) write a picture, a sticker, a voice note
or a shared contact card as a bracketed placeholder (``[图片]``, ``[表情]``, ``[名片]``), and tools
that flatten an export keep notices the platform itself wrote (``张三撤回了一条消息``,
``"李四"加入了群聊``). Neither is something a member wrote, so neither can be an ad, an insult or
chatter by its words: scored as text, ``[表情]`` came out as off-topic chatter (0.63) and
``[图片]`` did not (0.18), by accident of their characters. :func:`nothing_to_judge` tells the
pipeline to pass them unscored; :func:`strip_placeholders` keeps the placeholders inside a message
(``交作业了，麻烦助教看下[图片]``) out of topic keywords.

Imports only the standard library.
"""

from __future__ import annotations

import re

# Placeholders of the exports we read (nlp.io's readers write a subset of these) and of the apps'
# own copy-and-paste; team-written from the apps, kept in step with the readers by a test.
MEDIA_PLACEHOLDERS = (
    "图片",
    "照片",
    "闪照",
    "语音",
    "视频",
    "表情",
    "动画表情",
    "动图",
    "音频",
    "位置",
    "名片",
    "个人名片",
    "链接",
    "文件",
    "链接/文件",
    "通话",
    "语音通话",
    "视频通话",
    "红包",
    "QQ红包",
    "转账",
    "聊天记录",
    "小程序",
    "视频号",
    "音乐",
    "戳一戳",
)
_MEDIA = "|".join(re.escape(p) for p in sorted(MEDIA_PLACEHOLDERS, key=len, reverse=True))
# ``[消息类型 49]``: the WeChat reader's placeholder for a message type it does not know
_PLACEHOLDER = re.compile(rf"\[(?:{_MEDIA}|消息类型 ?\d+)\]", re.IGNORECASE)
_ONLY_PLACEHOLDERS = re.compile(rf"\s*(?:{_PLACEHOLDER.pattern}\s*)+", re.IGNORECASE)
# Notices the platform writes into the chat, one line each (the actors' names vary); 拍一拍 only in
# its quoted form (``"张三" 拍了拍 "李四"``), since members write 拍了拍 in sentences of their own
_SYSTEM_NOTICE = re.compile(
    r"[^，。！？,!?]{1,60}?(?:撤回了一条(?:成员的)?消息|加入了群聊|退出了群聊|移出了群聊|移出群聊|成为新群主|开启了群聊邀请确认)"
    r"|[^，。！？,!?]{1,40}?修改群名为.{1,40}"
    r"|[“\"][^”\"]{1,24}[”\"] ?拍了拍 ?(?:我|自己|[“\"][^”\"]{1,24}[”\"]).{0,24}"
)
# what every notice above holds: one search rules out nearly every message before the full pattern
_SYSTEM_WORD = re.compile("撤回了一条|加入了群聊|退出了群聊|移出|成为新群主|群聊邀请确认|修改群名为|拍了拍")


def nothing_to_judge(text: str) -> bool:
    """True for a message with no words of a member's own: placeholders only, or a system notice."""
    if "[" in text and _ONLY_PLACEHOLDERS.fullmatch(text):
        return True
    return _SYSTEM_WORD.search(text) is not None and _SYSTEM_NOTICE.fullmatch(text.strip()) is not None


def strip_placeholders(text: str) -> str:
    """``text`` without its media placeholders (for topic words; classifiers read the text whole)."""
    return _PLACEHOLDER.sub(" ", text) if "[" in text else text

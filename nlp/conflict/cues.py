"""Words that tell an operator a chat is turning: rumour and panic, threats, calls for calm, laughter,
resolution. Written by the team from moderation experience (never from evaluation data); the
classifier's negativity score carries the hostility itself.
"""

from __future__ import annotations

import re

# Unverified news and the urge to spread it (谣言 / 恐慌).
RUMOUR = re.compile(
    r"听说|据说|紧急|转发|转给|转到|赶紧转|快转|扩散|真的假的|要出事|出大事|出事了|都在传|在传|朋友圈|内部消息|"
    r"在瞒|瞒着|压着|压消息|跑路|作废|致癌|被抢|裁员|拆迁"
)
# Threats to leave, expose, report or meet in person.
THREAT = re.compile(
    r"退群|截图|报警|举报|等着|试试|走着瞧|不放过|找你|弄死|打你|踢了|把你|说说|发出来|聊天记录|"
    r"谁怕谁|你等|楼下等"
)
# A third person asking the others to calm down: the group itself sees a fight.
CALMING = re.compile(r"冷静|别吵|不要吵|消消气|好好说|有话好好|算了算了|别在群里吵|少说两句|误会")
LAUGHTER = re.compile(r"哈哈|嘿嘿|笑死|😂|🤣|😆|233")
# An operator or the people involved closing the matter.
RESOLUTION = re.compile(
    r"抱歉|不好意思|已移出|移出了|已踢|已处理|马上安排|安排师傅|修好了|已转|补发|理解|赔罪|请你|我的错|疏忽"
)
SECOND_PERSON = re.compile(r"你|您")
MENTION = re.compile(r"@([^\s@，,：:]+)")


def mentions(text: str) -> list[str]:
    return MENTION.findall(text)

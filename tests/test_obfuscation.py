"""Obfuscated contact details, the way advertisers write them in Chinese group chats.

Each case: the message, the signal kind that must be found, its value after de-obfuscation, and
whether the signal must be marked as obfuscated (so the admin's reason says 已还原混淆写法).
"""

import pytest

from nlp.text import analyze

CASES = [
    # WeChat written with homophones, letters, hearts and full width
    ("加薇❤: abc_123", "wechat", "abc_123", True),
    ("V信 ①③⑧ 0000 1111", "wechat", "13800001111", True),
    ("VX：abcd_1234", "wechat", "abcd_1234", True),
    ("加VX：Abc_123 领资料", "wechat", "abc_123", True),
    ("vx13800001111 随时联系", "wechat", "13800001111", True),
    ("薇♥信号 hello_2024", "wechat", "hello_2024", True),
    ("威信：ab12345", "wechat", "ab12345", True),
    ("微❤信 abc_123", "wechat", "abc_123", True),
    ("加v abc_1234", "wechat", "abc_1234", True),
    ("wei xin: zhang_san88", "wechat", "zhang_san88", True),
    ("➕V：mm520888", "wechat", "mm520888", True),
    ("＋V：ｗｘ８８６６", "wechat", "wx8866", True),
    ("有意者加卫星：zx-9527", "wechat", "zx-9527", True),
    ("wx：LiLi_2023 备注来意", "wechat", "lili_2023", True),
    ("加ＶＸ：ａｂｃ１２３４", "wechat", "abc1234", True),
    ("私我v13812345678", "wechat", "13812345678", True),
    ("微信搜一搜：abc_shop88", "wechat", "abc_shop88", False),
    ("加我微信 xiaomei_520 免费领取", "wechat", "xiaomei_520", False),
    ("wxid_k2j4h5g6 拉你进群", "wechat", "wxid_k2j4h5g6", False),
    ("徽信 yoga_liu2024 团购更优惠", "wechat", "yoga_liu2024", True),
    ("V 信：ｑｗｅｒ_７７８８", "wechat", "qwer_7788", True),
    ("嶶信号：money_2026", "wechat", "money_2026", True),
    # phone numbers split, circled, in Chinese numerals, with keycaps
    ("联系电话：138-0000-1111", "phone", "13800001111", False),
    ("一三八零零零零一一一一", "phone", "13800001111", True),
    ("❶❸❽❷❷❷❷❸❸❸❸", "phone", "13822223333", True),
    ("1⃣3⃣8⃣0⃣0⃣0⃣0⃣1⃣1⃣1⃣1⃣", "phone", "13800001111", True),
    ("幺三九 幺二三四 五六七八", "phone", "13912345678", True),
    ("电话 1 3 9 · 1 2 3 4 · 5 6 7 8", "phone", "13912345678", True),
    ("壹叁捌 零零零零 壹壹壹壹", "phone", "13800001111", True),
    ("打 138🌸0000🌸1111 咨询", "phone", "13800001111", True),
    ("+86 13912345678", "phone", "13912345678", False),
    # QQ numbers and groups
    ("扣扣 一二三四五六七八", "qq", "12345678", True),
    ("扣扣：⑨⑧⑦⑥⑤④③②①", "qq", "987654321", True),
    ("企鹅号 1 2 3 4 5 6 7 8", "qq", "12345678", True),
    ("q:12345678", "qq", "12345678", True),
    ("QQ：２３４５６７８９", "qq", "23456789", True),
    ("抠抠 876543210", "qq", "876543210", True),
    ("裙号 123456789", "qq_group", "123456789", True),
    ("领资料加群：987654321", "qq_group", "987654321", False),
    ("加qq群 654321987", "qq_group", "654321987", False),
    # links, plain and disguised
    ("点击 abc点com 领取", "url", "abc点com", True),
    ("详情戳链接 https://t.cn/A6xYz", "url", "https://t.cn/A6xYz", False),
    ("打开 bit.ly/3abcDEF 抢券", "url", "bit.ly/3abcDEF", False),
    ("官网 www．ppt-master．com", "url", "www．ppt-master．com", False),  # full-width dots: ordinary IME typing
    ("ppt-master dot com 限时免费", "url", "ppt-master dot com", True),
    # a bare domain right after Chinese text (\w covers 汉字: the link was missed), and new cheap TLDs
    ("复制到浏览器打开ab123.top", "url", "ab123.top", False),
    ("老地方换网址了kk66.vip记一下", "url", "kk66.vip", False),
    ("新站 𝕩𝕪𝟠𝟠.𝕔𝕪𝕠𝕦 已开放", "url", "𝕩𝕪𝟠𝟠.𝕔𝕪𝕠𝕦", True),  # math letters: an evasion, folded (NFKC)
    # money bait
    ("日赚500+，宝妈可做", "money", "日赚500+", False),
    ("月入过万不是梦", "money", "月入过万", False),
    ("¥299 包报名", "money", "¥299", False),
    ("佣金30元一单", "money", "30元", False),
    # prices per item and discounts, as sellers write them without a unit of money
    ("小猫打完疫苗了，六百一只，包邮", "money", "六百一只", False),
    ("私教课199一节，十节起买", "money", "199一节", False),
    ("会员日全场七折", "money", "七折", False),
    ("精华液买一送一，今晚截止", "money", "买一送一", False),
    ("店庆满200减30", "money", "满200减30", False),
    # an invitation to buy from the writer
    ("自家种的橙子，要的联系我", "contact_cue", "联系我", False),
    ("面膜还有十盒，要的找我拿", "contact_cue", "找我拿", False),
]


@pytest.mark.parametrize(("message", "kind", "value", "obfuscated"), CASES, ids=[c[0] for c in CASES])
def test_obfuscated_contact_is_recovered(message: str, kind: str, value: str, obfuscated: bool) -> None:
    signals = analyze(message).signals_of(kind)
    assert [s.value for s in signals] == [value], analyze(message)
    assert signals[0].obfuscated is obfuscated
    # the span points into the message as sent, so a reason can quote it
    assert message[signals[0].start : signals[0].end] == signals[0].text


def test_case_count_covers_the_brief() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    "message",
    [
        "今天2026-03-02 19:30开会",
        "v2ex上看到的帖子",
        "vip888888会员到期了",
        "三五成群地去跑步",
        "这个模板一二三页都不错",
        "价格是1299.00，比上次便宜",
        "第3课第12页",
        "微信群里说过了",
        "我们qq群人太多了",
        "威信很高的老师",
        "邮箱是abc@mail.com，不是网址",  # the domain of an e-mail address is no link
        "mr.bean的电影你看过吗",
    ],
)
def test_ordinary_text_has_no_contact_signal(message: str) -> None:
    assert analyze(message).contacts == ()


@pytest.mark.parametrize(
    "message",
    [
        "钓了条五十一斤的大青鱼",  # 51 jin, not fifty a jin
        "我一个人去就行",
        "每个人交一份作业",
        "今天折腾了一整天",
        "婴儿车折叠起来很方便",
        "第一折就断了，重新叠",
        "有事找我，别客气",
        "送你回家吧",
    ],
)
def test_ordinary_text_has_no_price_or_invitation(message: str) -> None:
    assert [s.kind for s in analyze(message).signals if s.kind in ("money", "contact_cue")] == []


def test_contact_cue_without_id_is_still_reported() -> None:
    kinds = [s.kind for s in analyze("想了解的加我微信，拉你进群").signals]
    assert kinds.count("contact_cue") == 2


@pytest.mark.parametrize("message", ["加我电话138****5678详聊", "电话：138XXXX5678 王经理", "联系 138******11"])
def test_masked_mobile_number_is_still_a_phone(message: str) -> None:
    """Exports, screenshots and our own redaction mask the middle digits; the contact is still there
    (an ad stays an ad in a redacted archive), reported as sent, not as an evasion or a flood of ``*``."""
    analysis = analyze(message)
    (signal,) = analysis.signals_of("phone")
    assert signal.value == signal.text.casefold()
    assert message[signal.start : signal.end] == signal.text and not signal.obfuscated
    assert analysis.signals_of("repetition") == ()


@pytest.mark.parametrize(
    ("message", "flood"),
    [
        ("报名热线xxxxxxxxxxx", False),
        ("联系王xx老师，x月x日开课，电话****", False),
        ("冲冲冲冲冲", True),
        ("xdxdxd", True),
    ],
)
def test_a_run_of_mask_characters_is_no_flood(message: str, flood: bool) -> None:
    """An archive's masked digits or names are placeholders; calling them a repeated-character flood
    told the ad head that a masked notice was idle chatter (its repetition weight is negative)."""
    assert bool(analyze(message).signals_of("repetition")) is flood


def test_digits_of_a_phone_in_chinese_numerals_are_no_flood() -> None:
    """零零零零 inside 壹叁捌 零零零零 壹壹壹壹 is part of the number the phone signal reports."""
    analysis = analyze("联系 壹叁捌 零零零零 壹壹壹壹")
    assert [s.value for s in analysis.signals_of("phone")] == ["13800001111"]
    assert analysis.signals_of("repetition") == ()


def test_redacted_archive_keeps_its_phone_signal_and_redaction_is_stable() -> None:
    from nlp.text.redact import redact

    once = redact("跑鞋低价清仓，电话13800001111，微信 shoes_888")
    assert "13800001111" not in once and [s.kind for s in analyze(once).contacts] == ["phone"]
    assert redact(once) == once


@pytest.mark.parametrize("message", ["138*11", "价格1380***起", "评分 4.8***，1399元"])
def test_stars_beside_digits_are_not_a_masked_phone(message: str) -> None:
    assert analyze(message).signals_of("phone") == ()


def test_obfuscated_span_maps_back_to_original_text() -> None:
    message = "优惠多多，加薇❤：ppt_vip888 备注模板"
    (signal,) = analyze(message).signals_of("wechat")
    assert signal.text == "薇❤：ppt_vip888"
    assert message.index("薇") == signal.start


def _chat_texts() -> list[str]:
    """Every message the team wrote (labelled chat, sample archive) plus the cases above."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "data"
    texts = [case[0] for case in CASES]
    for path in [root / "sample_chat.jsonl", *sorted((root / "labelled").glob("*.jsonl"))]:
        texts += [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines() if line.strip()]
    return texts


def test_skipping_the_rewrite_chain_never_changes_a_message() -> None:
    """The one-search shortcut in deobfuscate_aligned must only skip messages the chain leaves as
    they are, whatever a later edit of its patterns does."""
    from nlp.text.deobfuscate import _may_rewrite, _rewrite
    from nlp.text.normalize import normalize_aligned

    # edges of the shortcut's counts: 7 digits split (joined), 6 (not), two Chinese digits in a run
    texts = [*_chat_texts(), "电话1234-567", "电话123-456", "一二345", "一2345", "一 二·3 4 5", "零零七"]
    rewritten = 0
    for text in texts:
        normalized = normalize_aligned(text)
        full = _rewrite(normalized)
        rewritten += full.text != normalized.text
        if not _may_rewrite(normalized.text):
            assert full == normalized, text
    assert rewritten > 50  # the data does exercise the chain


def test_rewrite_shortcut_prechecks_hold_for_every_match() -> None:
    """The shortcut searches a variant or dotted-link pattern only where one of its characters is
    present: every match those patterns find, in chat data and in obfuscations written for this
    test, must contain one (a new variant spelling must add its character there)."""
    from nlp.text.deobfuscate import _URL_DOT, _URL_DOT_CHAR, _VARIANT_CHAR, _VARIANTS
    from nlp.text.normalize import normalize

    written = ["加v abc123", "薇:abc12345", "v13800001111", "q 123456", "扣扣12345", "企鹅号", "裙123456",
               "君羊 123456", "卫星 abc123", "wei xin", "we chat", "v❤", "私w", "加我薇", "abc点com",
               "abc。cn", "abc dot com", "abc(.)com", "abc[.]cn"]  # fmt: skip
    found = {"variant": 0, "url": 0}
    for text in [*_chat_texts(), *written]:
        normalized = normalize(text)
        for kind, pattern, needs in (("variant", _VARIANTS, _VARIANT_CHAR), ("url", _URL_DOT, _URL_DOT_CHAR)):
            for m in pattern.finditer(normalized):
                found[kind] += 1
                assert needs.search(m.group(0)), (kind, text)
    assert found["variant"] >= 20 and found["url"] >= 5


def test_repetition_precheck_holds_wherever_a_repetition_is_found() -> None:
    """Repetition is only searched where a character comes back three times at a step of 1-4: every
    text the repetition pattern matches (chat data, a unit of each length written for this test,
    random strings over few characters, where repeats are common) must pass that pre-check."""
    import random

    from nlp.text.signals import _MAY_REPEAT, _REPETITION

    rng = random.Random(0)
    alphabet = list("哈啊a1 \n")
    written = ["冲冲冲冲", "好呀好呀好呀", "加油啊加油啊加油啊", "一起来吧一起来吧一起来吧", "abcdabcdabcd!"]
    random_texts = ("".join(rng.choices(alphabet, k=rng.randint(1, 25))) for _ in range(20_000))
    texts = [*_chat_texts(), *written, *random_texts]
    repeated = [t for t in texts if _REPETITION.search(t)]
    assert len(repeated) > 500 and set(written) <= set(repeated)
    assert all(_MAY_REPEAT.search(t) for t in repeated)


def test_a_batch_repetition_precheck_is_the_pattern_s() -> None:
    """The text stage checks a batch's texts for repeats at once (numpy over the joined code points):
    the same answer as the pre-check's pattern on each text, with repeats straddling two texts of the
    batch (``哈哈哈`` then ``哈``) not counted, line breaks and characters beyond the BMP included."""
    import random

    from nlp.text.signals import _MAY_REPEAT, may_repeat_many

    rng = random.Random(1)
    alphabet = list("哈啊a1 \n😀𠀀x")
    texts = ["哈哈哈", "哈", "", "冲冲冲冲", "好呀好呀好呀", *_chat_texts()]
    texts += ["".join(rng.choices(alphabet, k=rng.randint(0, 14))) for _ in range(20_000)]
    got = may_repeat_many(texts)
    assert got == [_MAY_REPEAT.search(text) is not None for text in texts]
    assert got[:5] == [False, False, False, True, True] and sum(got) > 1000
    assert may_repeat_many(texts[:5]) == got[:5]  # a few texts: the pattern itself
    assert may_repeat_many([]) == []


def test_a_batch_deobfuscates_each_text_as_alone() -> None:
    """The text stage asks which texts may need a rewrite for a whole batch at once (character
    classes and digit counts over the joined code points): the same answer as the per-text check,
    with a separator between two texts' CJK characters (``中`` | ``.文``) not counted, and the same
    views and alignments."""
    import random

    from nlp.text.deobfuscate import (
        _may_rewrite,
        _may_rewrite_many,
        deobfuscate_aligned,
        deobfuscate_aligned_many,
    )
    from nlp.text.normalize import normalize_aligned

    rng = random.Random(5)
    alphabet = [*"一二三四五六七八九零〇微薇wvq扣裙点。d([.·*_-~|/中文好0123456789 𝟘𝟙٣", "com", "\n"]
    texts = ["中", ".文", "一", "二", *_chat_texts()]
    texts += ["".join(rng.choices(alphabet, k=rng.randint(0, 20))) for _ in range(20_000)]
    got = _may_rewrite_many(texts)
    assert got == [_may_rewrite(text) for text in texts]
    assert got[:4] == [False, False, False, False] and sum(got) > 5000
    views = [normalize_aligned(text) for text in texts[:3000]]
    for many, one in zip(deobfuscate_aligned_many(views), map(deobfuscate_aligned, views), strict=True):
        assert (many.text, many.starts, many.ends) == (one.text, one.starts, one.ends)


def test_contact_pattern_prechecks_hold_for_every_match() -> None:
    """Each contact pattern only runs when one of its required substrings is present: every match
    the pattern finds in real messages must contain one."""
    from nlp.text.deobfuscate import deobfuscate_aligned
    from nlp.text.normalize import normalize_aligned
    from nlp.text.signals import _CONTACT_SCANS

    matched: dict[str, int] = {}
    # every form of money bait, written for this test, beside the chat data
    money = [
        "¥99",
        "$5",
        "rmb 300",
        "人民币200",
        "5.5w元",
        "3k块",
        "200美金",
        "日入500",
        "月赚3万",
        "周结两千",
        "三百块钱",
        "八百一只",
        "30块每份",
        "3.8折",
        "九折",
        "买二送一",
        "满300减50",
        "第二件半价",
    ]
    # and every shape of a phone number and a group number
    numbers = ["13800001111", "+8613800001111", "138****5678", "138xxxx5678", "138******11", "群号：123456",
               "QQ群 987654321", "群搜一搜：1234567"]  # fmt: skip
    for text in [*_chat_texts(), *money, *numbers]:
        deob = deobfuscate_aligned(normalize_aligned(text)).text
        for kind, needs, pattern, _ in _CONTACT_SCANS:
            for m in pattern.finditer(deob):
                matched[kind] = matched.get(kind, 0) + 1
                assert needs(m.group(0)), (pattern, text)
    assert sum(matched.values()) > 100 and matched["money"] >= len(money)
    assert matched["phone"] >= 5 and matched["qq_group"] >= 3

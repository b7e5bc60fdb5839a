"""One self-contained HTML file per archive: each group's health, labels, topics and alerts.

Everything is inline (CSS, SVG charts), so the file opens offline and can be mailed. Chinese text
uses the system's CJK fonts (Noto Sans CJK / PingFang / Microsoft YaHei, in that order).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from nlp.report.charts import line_chart
from nlp.report.metrics import GroupHealth

CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;
margin:24px;color:#222;background:#fafafa}
h1{font-size:24px}h2{font-size:20px;border-bottom:2px solid #2f6fdf;padding-bottom:4px;margin-top:36px}
h3{font-size:16px;margin:18px 0 6px}.summary{background:#fff;border-left:4px solid #2f6fdf;padding:10px 14px}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#fff;border:1px solid #ddd;border-radius:6px;
padding:8px 12px;min-width:120px}.card b{display:block;font-size:20px}.warn{color:#c0392b}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{background:#fff;border:1px solid #ddd}
.chart-title{font-size:13px;font-weight:bold}.tick{font-size:10px;fill:#555}.legend{font-size:11px}
table{border-collapse:collapse;background:#fff;margin:6px 0}td,th{border:1px solid #ddd;padding:4px 8px;
font-size:13px;vertical-align:top}th{background:#eef2fb}.alert-high{color:#c0392b;font-weight:bold}
"""


ROLE_NAMES = {"instigator": "发起者", "target": "被针对者", "joiner": "参与者"}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def group_summary(health: GroupHealth, topics: Sequence, alerts: Sequence[dict]) -> tuple[str, list[str]]:
    """A short Chinese summary and suggested actions, from the numbers (rules, written by the team)."""
    facts = [f"{health.messages} 条消息，{health.members} 位成员发过言，日均活跃 {health.daily_active:.1f} 人"]
    actions = []
    ads, neg, off = (health.label_totals.get(k, 0) for k in ("ad", "negativity", "offtopic"))
    share = lambda n: n / max(health.messages, 1)  # noqa: E731
    if ads:
        facts.append(f"广告 {ads} 条（{share(ads):.0%}）")
        if share(ads) >= 0.02:
            actions.append("广告偏多：开启入群审核，在群公告重申“不可发广告”，移出反复发广告的账号")
    if neg:
        facts.append(f"负面/攻击性消息 {neg} 条")
        if share(neg) >= 0.03:
            actions.append("负面言论偏多：发布群规提醒，私聊言辞激烈的成员")
    if off and share(off) >= 0.3:
        actions.append("闲聊占比高：可设固定闲聊时段，或引导到主题讨论")
    if alerts:
        kinds = "、".join(sorted({a["kind"] for a in alerts}))
        facts.append(f"冲突预警 {len({a['alert_id'] for a in alerts})} 次（{kinds}）")
        actions.append("逐条查看下方冲突预警的证据，按建议处理（私聊当事人 / 发布澄清）")
    if topics:
        facts.append("主要话题：" + "、".join(t.label for t in topics[:3]))
    if health.concentration >= 0.8 and health.members >= 5:
        actions.append("发言集中在少数人：可点名邀请新人、设置轮值话题，提高发言率")
    if health.dead:
        actions.append("群活跃度明显下降：策划一次活动或话题，唤醒沉默成员")
    if health.retention is not None and health.retention < 0.3 and health.new_members >= 3:
        actions.append("新成员留存低：新人入群后主动欢迎，并引导完成一次发言")
    if not actions:
        actions.append("群状态良好，保持现有节奏")
    return "；".join(facts) + "。", actions


def render_report(
    title: str,
    groups: Sequence[tuple[GroupHealth, Sequence, dict[str, list[int]], Sequence[dict], dict[str, str]]],
) -> str:
    """``groups``: per group (health, topics, topic counts per day {label: counts}, alerts, texts by id)."""
    out = [
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>生成时间 {datetime.now():%Y-%m-%d %H:%M}，共 {len(groups)} 个群。</p>",
    ]
    for health, topics, topic_days, alerts, texts in groups:
        summary, actions = group_summary(health, topics, alerts)
        out.append(f"<h2>群：{escape(health.group)}</h2>")
        out.append(f"<div class='summary'><p>{escape(summary)}</p><p>建议：</p><ul>")
        out += [f"<li>{escape(a)}</li>" for a in actions]
        out.append("</ul></div>")
        cards = [
            ("日活跃人数", f"{health.daily_active:.1f}"),
            ("发言率", _pct(health.speaking_rate)),
            ("互动率", _pct(health.interaction_rate)),
            ("新成员留存", _pct(health.retention) + (f"（{health.new_members} 人）" if health.new_members else "")),
            ("二八集中度", _pct(health.concentration)),
            ("活跃趋势", "—" if health.trend is None else f"{health.trend:.2f}" + (" ⚠" if health.dead else "")),
        ]
        out.append("<div class='cards'>")
        out += [f"<div class='card'>{escape(k)}<b>{escape(v)}</b></div>" for k, v in cards]
        out.append("</div><div class='charts'>")
        if health.days:
            out.append(
                line_chart(
                    health.days,
                    {"消息数": health.messages_per_day, "活跃人数": health.active_per_day},
                    "每日消息与活跃人数",
                )
            )
            out.append(
                line_chart(
                    health.days,
                    {
                        "广告": health.label_rates["ad"],
                        "负面": health.label_rates["negativity"],
                        "闲聊": health.label_rates["offtopic"],
                    },
                    "每日违规占比",
                    percent=True,
                )
            )
            if topic_days:
                out.append(line_chart(health.days, dict(list(topic_days.items())[:5]), "话题热度（每日消息）"))
        out.append("</div>")
        if health.offenders:
            out.append("<h3>违规最多的成员</h3><table><tr><th>成员</th><th>被标记消息</th><th>主要类型</th></tr>")
            names = {"ad": "广告", "negativity": "负面", "offtopic": "闲聊"}
            out += [
                f"<tr><td>{escape(u)}</td><td>{n}</td><td>{names.get(k, k)}</td></tr>" for u, n, k in health.offenders
            ]
            out.append("</table>")
        if topics:
            out.append(
                "<h3>话题</h3><table><tr><th>话题</th><th>关键词</th><th>消息数</th><th>时间</th><th>例句</th></tr>"
            )
            for t in topics[:10]:
                span = f"{t.first_ts:%m-%d %H:%M} – {t.last_ts:%m-%d %H:%M}" if t.first_ts and t.last_ts else ""
                out.append(
                    f"<tr><td>{escape(t.label)}</td><td>{escape('、'.join(t.keywords))}</td><td>{t.size}</td>"
                    f"<td>{span}</td><td>{escape((t.examples or [''])[0])}</td></tr>"
                )
            out.append("</table>")
        out.append("<h3>冲突预警</h3>")
        if not alerts:
            out.append("<p>无。</p>")
        for a in alerts:
            css = "alert-high" if a["severity"] == "high" else ""
            people = "、".join(f"{p['user']}（{ROLE_NAMES.get(p['role'], p['role'])}）" for p in a["participants"])
            out.append(
                f"<p class='{css}'>[{escape(a['severity'])}] {escape(a['kind'])} {escape(a['ts'] or '')}："
                f"{escape(a['summary'])}</p><p>参与者：{escape(people)}；建议：{escape(a['suggestion'])}</p><ul>"
            )
            out += [f"<li>{escape(texts.get(i, i))}</li>" for i in a["evidence"][:6]]
            out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out)

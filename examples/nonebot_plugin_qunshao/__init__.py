"""nonebot-plugin-qunshao: moderate QQ group messages with a qunshao service (OneBot v11 adapter).

Configuration (.env): QUNSHAO_URL=http://127.0.0.1:8000, QUNSHAO_TOKEN=..., QUNSHAO_ACTION=recall|warn|log
Every group message is sent to /v1/groups/{group_id}/messages; a `block` verdict recalls the message
(when the bot is an admin and QUNSHAO_ACTION=recall), a conflict alert is posted to the group's
admins as a private message with its summary and suggested next step.
"""

from __future__ import annotations

import httpx
from nonebot import get_driver, get_plugin_config, on_message
from nonebot.adapters.onebot.v11 import Bot, GroupMessageEvent
from nonebot.plugin import PluginMetadata
from pydantic import BaseModel


class Config(BaseModel):
    qunshao_url: str = "http://127.0.0.1:8000"
    qunshao_token: str | None = None
    qunshao_action: str = "log"  # recall | warn | log
    qunshao_admins: list[int] = []  # QQ numbers that receive conflict alerts


__plugin_meta__ = PluginMetadata(
    name="群哨 qunshao",
    description="广告、负面言论、闲聊识别与冲突预警",
    usage="加入群后自动工作；配置 QUNSHAO_URL / QUNSHAO_TOKEN / QUNSHAO_ACTION",
    type="application",
    config=Config,
    supported_adapters={"~onebot.v11"},
)

config = get_plugin_config(Config)
client = httpx.AsyncClient(
    base_url=config.qunshao_url,
    headers={"Authorization": f"Bearer {config.qunshao_token}"} if config.qunshao_token else {},
    timeout=5.0,
)
get_driver().on_shutdown(client.aclose)
watcher = on_message(priority=1, block=False)


@watcher.handle()
async def moderate(bot: Bot, event: GroupMessageEvent) -> None:
    text = event.get_plaintext().strip()
    if not text:
        return
    message = {
        "id": str(event.message_id),
        "user": str(event.user_id),
        "ts": event.time,
        "text": text,
        "reply_to": str(event.reply.message_id) if event.reply else None,
    }
    response = await client.post(f"/v1/groups/{event.group_id}/messages", json={"messages": [message]})
    response.raise_for_status()
    body = response.json()
    verdict = body["results"][0]
    if verdict["suggestion"] == "block" and config.qunshao_action == "recall":
        await bot.delete_msg(message_id=event.message_id)
    elif verdict["suggestion"] != "pass" and config.qunshao_action in ("recall", "warn"):
        await bot.send(event, "提示：" + "；".join(verdict["reasons"][:2]), at_sender=True)
    for alert in body["alerts"]:
        for admin in config.qunshao_admins:
            await bot.send_private_msg(
                user_id=admin,
                message=f"[{alert['severity']}] 群 {event.group_id} {alert['kind']}：{alert['summary']}\n建议：{alert['suggestion']}",
            )

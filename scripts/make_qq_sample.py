"""Write data/sample_chat.jsonl (the team's demo archive) in QQ's 消息记录 text-export format.

    python scripts/make_qq_sample.py

The demo (`make demo`) starts from this file, as an operator would from a QQ export. QQ numbers are
invented per nickname (a fixed, seeded mapping); reply links do not exist in QQ's text export.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PURPOSES = {"ppt-study": "PPT设计学习群", "nanshan-run": "南山夜跑团", "baby-care": "宝妈育儿交流群"}


def main() -> None:
    rows = [json.loads(line) for line in (ROOT / "data" / "sample_chat.jsonl").read_text("utf-8").splitlines()]
    rng = random.Random(5)
    numbers: dict[str, int] = {}
    out = ["消息记录（此消息记录为文本格式，不支持重新导入）", "", "=" * 64, "消息分组:我的QQ群", "=" * 64]
    for group in dict.fromkeys(r["group"] for r in rows):
        out += [f"消息对象:{PURPOSES.get(group, group)}", "=" * 64, ""]
        for r in sorted((r for r in rows if r["group"] == group), key=lambda r: r["ts"]):
            user = r.get("user") or "群成员"
            number = numbers.setdefault(user, rng.randint(10_000_000, 999_999_999))
            hour, minute, second = r["ts"][11:19].split(":")
            date, time = r["ts"][:10], f"{int(hour)}:{minute}:{second}"  # QQ writes 8:01:20, not 08:01:20
            out += [f"{date} {time} {user}({number})", r["text"], ""]
        out.append("=" * 64)
    target = ROOT / "data" / "sample_chat_qq.txt"
    target.write_text("\n".join(out) + "\n", "utf-8")
    print(f"wrote {target}", file=sys.stderr)


if __name__ == "__main__":
    main()

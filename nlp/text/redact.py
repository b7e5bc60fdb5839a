"""Redaction of contact details before an archive leaves the operator's hands.

Phone numbers keep their first three and last two digits (``138******11``: enough to tell two apart
in a report); WeChat ids, QQ numbers and QQ groups become ``[已隐去]``. Uses the same signal
extraction as the classifiers, so disguised forms (``V信 ①③⑧ 0000 1111``) are found too; the span
replaced is the text as sent.
"""

from __future__ import annotations

from nlp.text.analysis import analyze

REDACTED_KINDS = ("phone", "wechat", "qq", "qq_group")


def redact(text: str) -> str:
    spans = sorted(
        ((s.start, s.end, s.kind, s.value) for s in analyze(text, segment=False).signals if s.kind in REDACTED_KINDS),
        reverse=True,
    )
    out = text
    last_start = len(text) + 1
    for start, end, kind, value in spans:
        if end > last_start:  # overlapping spans: keep the first (rightmost already replaced)
            continue
        if kind == "phone" and not value.isdigit():  # already masked (138****5678): leave it as sent
            continue
        mask = f"{value[:3]}{'*' * max(len(value) - 5, 1)}{value[-2:]}" if kind == "phone" else "[已隐去]"
        out = out[:start] + mask + out[end:]
        last_start = start
    return out

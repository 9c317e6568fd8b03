"""The one rule for a person's name, at every entry point (finding 10): the public registration
form, the member forms (new, edit), the roster import and registration approval (all through
``app.members.services.clean``) and staff accounts.

A name is hanzi (every CJK block, rare characters included), Latin letters, spaces and the
separating dot of transliterated names (买买提·艾力; the look-alike dots an input method may
type are accepted and stored as "·"); each part starts with a hanzi or a letter and may carry
digits after it (rosters tell namesakes apart as 张伟2). Anything else — markup, quotes,
formula characters (= + - @), a leading digit — is refused, so a name can never become HTML or
a spreadsheet formula downstream.
"""

from __future__ import annotations

import re

from app.members.identity import normalize_text

NAME_MAX = 50
NAME_MESSAGE = "姓名只能包含汉字、字母和间隔号“·”"
NAME_TOO_LONG = f"姓名不能超过 {NAME_MAX} 个字"

_HANZI = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Ext A, URO, compatibility ideographs
    "\U00020000-\U0002ebef\U00030000-\U0003134f"  # Ext B–F, Ext G
    "\u3007"  # 〇
)
_DOTS = "·•・‧．.･"  # noqa: RUF001 - the middle-dot look-alikes input methods produce
_PART = f"[{_HANZI}A-Za-z][{_HANZI}A-Za-z0-9]*"
_NAME_RE = re.compile(f"{_PART}(?:(?: ?[{re.escape(_DOTS)}] ?| ){_PART})*")
_DOT_RE = re.compile(f" ?[{re.escape(_DOTS)}] ?")


def normalize_person_name(value: str | None) -> str:
    """Trimmed, runs of spaces as one, the name dot as "·" (no check)."""
    text = " ".join(normalize_text(value).split())
    return _DOT_RE.sub(lambda m: "·" if m.group(0).strip() != "." else m.group(0), text)


def name_problem(value: str | None) -> str | None:
    """What is wrong with ``value`` as a person's name (a Chinese message), or None.
    An empty value is no problem here: whether a name is required is the form's business."""
    text = normalize_person_name(value)
    if not text:
        return None
    if len(text) > NAME_MAX:
        return NAME_TOO_LONG
    if not _NAME_RE.fullmatch(text):
        return NAME_MESSAGE
    return None


def validate_person_name(value: str | None) -> str:
    """The normalized name, or ``ValueError`` with the one Chinese message."""
    problem = name_problem(value)
    if problem:
        raise ValueError(problem)
    return normalize_person_name(value)

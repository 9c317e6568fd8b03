"""A member's address as printed and shown: the one place it is composed."""

from __future__ import annotations


def _bare(text: str) -> str:
    return "".join(text.split())


def member_address(
    address: str | None, building: str | None = None, room: str | None = None
) -> str:
    """The free address when there is one, else the building; then the room, unless the text
    already contains it ("…2号楼1单元503" + "1单元503" stays as it is). Never a "室" added to a
    room that is written as "1单元503"."""
    room = (room or "").strip()
    base = " ".join((address or "").split()) or " ".join((building or "").split())
    if room and _bare(room) not in _bare(base):
        base = f"{base} {room}".strip()
    return base

"""住址: one function composes a member's address without repeating what it already holds."""

from __future__ import annotations

import pytest

from app.members.address import member_address

CASES = [
    # (free address, building, room) -> shown
    ("兰州市城关区文苑小区2号楼1单元503", "2号楼", "1单元503", "兰州市城关区文苑小区2号楼1单元503"),
    ("1单元503", None, "1单元503", "1单元503"),
    ("文苑小区 2号楼 1单元 503", None, "1单元503", "文苑小区 2号楼 1单元 503"),
    ("兰州市城关区文苑小区2号楼", "2号楼", "1单元503", "兰州市城关区文苑小区2号楼 1单元503"),
    (None, "文苑小区2号楼", "1单元503", "文苑小区2号楼 1单元503"),
    ("", "文苑小区2号楼", None, "文苑小区2号楼"),
    (None, None, "503", "503"),
    ("  ", "", "  ", ""),
    (None, None, None, ""),
]


@pytest.mark.parametrize(("address", "building", "room", "shown"), CASES)
def test_member_address(address, building, room, shown):
    assert member_address(address, building, room) == shown

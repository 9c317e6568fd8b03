from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app import timeutil


@pytest.fixture
def clock(monkeypatch):
    """A clock the test moves by hand (no sleeping): 2026-03-09 02:00 UTC, 10:00 in Beijing."""

    class Clock:
        now = datetime(2026, 3, 9, 2, 0, 0)

        def advance(self, **delta) -> None:
            self.now += timedelta(**delta)

    state = Clock()
    monkeypatch.setattr(timeutil, "_clock", lambda: state.now)
    return state

"""Fixtures of the organization tests."""

from __future__ import annotations

import pytest

from tests.organization.factories import build_world, unlink_trees


@pytest.fixture
def structure(app) -> dict:
    return build_world()


@pytest.fixture(autouse=True)
def _unlink_trees(app):
    """The two trees reference each other (org.place_id, place.group_id): SQLite's drop_all
    at teardown refuses cyclic rows, so cut the links first."""
    yield
    unlink_trees()

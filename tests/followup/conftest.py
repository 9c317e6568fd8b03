"""Follow-up fixtures: the members feature's tree and factories, plus a second community
outside a first-community staff user's scope."""

from __future__ import annotations

import pytest

from tests.assignment.conftest import other  # noqa: F401  (fixtures re-used here)
from tests.members.conftest import (  # noqa: F401
    grid_worker_of,
    id_number,
    make_member,
    staff_of,
    tree,
)


@pytest.fixture
def staff_a(staff_of, tree):  # noqa: F811
    """Staff scoped to the first community's committee (both branches, both grids)."""
    return staff_of(org=tree["committee"])

from tests.followup.conftest import staff_a  # noqa: F401
from tests.members.conftest import grid_worker_of, make_member, staff_of, tree  # noqa: F401

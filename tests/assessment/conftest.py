from tests.members.conftest import make_member, staff_of, tree  # noqa: F401

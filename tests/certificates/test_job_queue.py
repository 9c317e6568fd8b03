"""One batch-job queue per database: servers of different databases started from one checkout
never take each other's jobs (issue 12, item 12)."""

from __future__ import annotations

import pytest

from app.certificates import jobs
from config import huey_queue
from tests.conftest import make_app

PG = "postgresql+psycopg://linli:{}@127.0.0.1:5432/{}"


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("sqlite:///a/linli.db", "sqlite:///a/linli.db", True),
        ("sqlite:///a/linli.db", "sqlite:///b/linli.db", False),
        (PG.format("pw", "linli"), PG.format("pw", "linli_test"), False),
        (PG.format("pw", "linli"), "sqlite:///a/linli.db", False),
        # a new password is the same database: queued jobs are kept
        (PG.format("old", "linli"), PG.format("new", "linli"), True),
    ],
)
def test_queue_is_keyed_by_the_database(first, second, same):
    name_a, path_a = huey_queue({"SQLALCHEMY_DATABASE_URI": first}, "/srv/instance")
    name_b, path_b = huey_queue({"SQLALCHEMY_DATABASE_URI": second}, "/srv/instance")
    assert (path_a == path_b) is same
    assert (name_a == name_b) is same
    assert path_a.startswith("/srv/instance/huey-") and path_a.endswith(".db")
    assert "pw" not in path_a and "old" not in name_a


def test_config_can_name_the_queue_file():
    config = {"SQLALCHEMY_DATABASE_URI": "sqlite:///a.db", "HUEY_SQLITE_PATH": "/q/jobs.db"}
    assert huey_queue(config, "/srv/instance")[1] == "/q/jobs.db"


def _queue_file(tmp_path, url: str) -> str:
    app = make_app(SQLALCHEMY_DATABASE_URI=url)
    app.instance_path = str(tmp_path)
    huey, _ = jobs.get_huey(app)
    return huey.storage.filename


def test_two_apps_of_different_databases_use_different_queue_files(tmp_path):
    a = _queue_file(tmp_path, f"sqlite:///{tmp_path / 'a.db'}")
    b = _queue_file(tmp_path, f"sqlite:///{tmp_path / 'b.db'}")
    a_again = _queue_file(tmp_path, f"sqlite:///{tmp_path / 'a.db'}")
    assert a != b
    assert a == a_again
    assert a.startswith(str(tmp_path)) and not a.endswith("/huey.db")

"""The ``count_queries`` fixture also checks the status of the requests it counts."""

from __future__ import annotations

import pytest


def test_an_error_answer_inside_count_queries_fails(client, count_queries):
    with pytest.raises(AssertionError, match=r"answered \[404\]"), count_queries():
        client.get("/no-such-page")


def test_an_expected_status_can_be_declared(client, count_queries):
    with count_queries(status=404) as counter:
        client.get("/no-such-page")
    with count_queries() as ok:
        assert client.get("/healthz").status_code == 200
    assert counter.statuses == [404] and ok.statuses == [200]

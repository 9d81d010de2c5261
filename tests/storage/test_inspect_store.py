"""The inspection queries in the store: the filters and orders that matter are served by indexes on both
engines (the expression indexes of migration 0005 included), so a page never scans the whole registry."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gateway.registry.inspection import ClientSearch, LogSearch, Page
from gateway.storage import inspection, open_store
from gateway.storage.tables import EXPRESSION_INDEXES


@pytest.fixture
def store(database_url):
    store = open_store(database_url)
    yield store
    store.close()


def plan(store, statement) -> str:
    sql = statement.compile(store.engine, compile_kwargs={"literal_binds": True})
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            return " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        # The tables are empty: ask whether an index can serve the query at all.
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        return " ".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))


def test_the_expression_indexes_exist(store):
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            names = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'")).scalars())
        else:
            names = set(
                conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'clients'")).scalars()
            )
    assert set(EXPRESSION_INDEXES) <= names


@pytest.mark.parametrize(
    "search, index",
    [
        (ClientSearch(hostname="desk%"), "ix_clients_hostname_prefix"),
        (ClientSearch(name="Zo"), "ix_clients_name_prefix"),
        (ClientSearch(username="j_"), "ix_clients_username_prefix"),
        (ClientSearch(ids=(5, 7)), "ix_clients_id"),
        (
            ClientSearch(connected_after=1, connected_before=2, order_by="connected_since"),
            "ix_clients_connected_since",
        ),
        (
            ClientSearch(last_activity_after=1, order_by="last_activity", descending=True),
            "ix_clients_last_activity",
        ),
    ],
)
def test_client_filters_use_their_index(store, search, index):
    count, page = inspection.client_statements(store.database.dialect, search, 1_700_000_000, 1_700_000_000)
    assert index in plan(store, page) and index in plan(store, count)


def test_log_windows_use_the_ts_index_and_a_client_log_its_client(store):
    count, page = inspection.event_statements(LogSearch(after=1, before=2, page=Page(0, 20)), 0)
    assert "ix_events_ts" in plan(store, page)
    count, page = inspection.event_statements(LogSearch(ids=(3,)), 0)
    assert "ix_clients_id" in plan(store, count) and "ix_events_client_seq" in plan(store, count)

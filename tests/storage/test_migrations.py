"""Schema migrations on every engine: `gateway db upgrade` from nothing, the result equal to tables.py,
and several nodes upgrading at once."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from gateway import create_app
from gateway.cli import main
from gateway.storage import migrate, open_store
from gateway.storage.tables import EXPRESSION_INDEXES, metadata
from tests.processes import run_in_processes


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request, tmp_path):
    """A database with no schema at all, once per engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = server.new_name()
    yield server.create(name)
    server.drop(name)


def test_db_upgrade_creates_the_schema_from_nothing(empty_database_url):
    app = create_app({"DATABASE_URL": empty_database_url})
    runner = app.test_cli_runner()
    try:
        first = runner.invoke(main, ["db", "upgrade"], catch_exceptions=False)
        assert first.exit_code == 0 and f"from empty to revision {migrate.head_revision()}" in first.output
        assert "up to date" in runner.invoke(main, ["db", "upgrade"], catch_exceptions=False).output
        assert "password" not in first.output.lower()
    finally:
        app.extensions["gateway"].store.close()


def test_migrated_schema_matches_the_tables_module(database_url):
    store = open_store(database_url)
    try:
        with store.engine.connect() as conn:
            # Expression indexes are engine-specific, created by the migration only
            # (tables.EXPRESSION_INDEXES).
            context = MigrationContext.configure(conn, opts={"include_object": _not_expression_index})
            differences = compare_metadata(context, metadata)
    finally:
        store.close()
    assert differences == []


def _not_expression_index(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


def upgrade_job(store) -> str:
    migrate.upgrade(store)
    return migrate.current_revision(store)


def test_nodes_upgrading_at_once_take_turns(empty_database_url):
    revisions = run_in_processes(empty_database_url, upgrade_job, [()] * 3)
    assert revisions == [migrate.head_revision()] * 3

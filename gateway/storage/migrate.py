"""Schema migrations (Alembic) for every engine: ``gateway db upgrade`` runs them to the newest revision."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from gateway.storage import Storage
from gateway.storage.dialect import MIGRATION_LOCK

#: Alembic's package-resource form: found through importlib.resources wherever the package is installed.
MIGRATIONS = "gateway.storage:migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return config


def upgrade(store: Storage, revision: str = "head") -> None:
    """Migrate in one transaction; nodes upgrading at once take turns (the second finds nothing to do)."""
    config = _config()
    db = store.database
    with db.engine.connect() as conn:
        conn = conn.execution_options(**db.dialect.write_options)
        with conn.begin():
            db.dialect.lock(conn, MIGRATION_LOCK)
            config.attributes["connection"] = conn
            command.upgrade(config, revision)


def current_revision(store: Storage) -> str | None:
    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head

"""The migrations build exactly the schema the models describe, on PostgreSQL and SQLite."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from dramtrade.db import make_engine
from dramtrade.migrate import upgrade
from dramtrade.models import Base


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_postgres_schema_matches_models(engine: Engine) -> None:
    assert _diff(engine) == []


def test_sqlite_schema_matches_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/dt.db"
    upgrade(url)
    upgrade(url)  # a second run is a no-op, as on a second `make run`
    engine = make_engine(url)
    try:
        assert _diff(engine) == []
    finally:
        engine.dispose()

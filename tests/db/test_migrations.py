"""`db upgrade` creates everything on an empty database, is idempotent, and downgrades to base."""

from __future__ import annotations

from sqlalchemy import inspect

from workstation.db.engine import create_db_engine
from workstation.db.migrate import current_revisions, database_status, downgrade, head_revisions, upgrade
from workstation.db.models import SPEC_TABLES, SPEC_VIEWS


def _relations(url: str) -> set[str]:
    engine = create_db_engine(url)
    inspector = inspect(engine)
    names = set(inspector.get_table_names()) | set(inspector.get_view_names())
    if engine.dialect.name == "postgresql":
        names |= set(inspector.get_materialized_view_names())
    engine.dispose()
    return names


def test_upgrade_creates_all_tables_views_and_summary(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)
    assert current_revisions(engine) == ()
    upgrade(engine)
    assert set(current_revisions(engine)) == set(head_revisions())
    relations = _relations(empty_db_url)
    for name in (*SPEC_TABLES, *SPEC_VIEWS):
        assert name in relations, name
    engine.dispose()


def test_upgrade_twice_is_a_noop(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)
    first = upgrade(engine)
    before = database_status(engine)
    second = upgrade(engine)
    assert first == second
    assert database_status(engine) == before
    engine.dispose()


def test_downgrade_to_base_removes_everything(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)
    upgrade(engine)
    downgrade(engine, "base")
    assert current_revisions(engine) == ()
    leftovers = _relations(empty_db_url) - {"alembic_version"}
    assert leftovers == set()
    # …and it comes back up again.
    upgrade(engine)
    assert "mv_features_dashboard_summary" in _relations(empty_db_url)
    engine.dispose()


def test_status_counts_every_relation(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)
    upgrade(engine)
    status = database_status(engine)
    assert status["backend"] in ("sqlite", "postgresql")
    assert set(status["tables"]) == {*SPEC_TABLES, *SPEC_VIEWS}
    assert all(count == 0 for count in status["tables"].values())
    engine.dispose()

from __future__ import annotations

from workstation.monitoring.correlation import correlation_scope, current_correlation_id


def test_scopes_nest_inherit_and_reset() -> None:
    assert current_correlation_id() is None
    with correlation_scope(prefix="cli") as outer:
        assert outer.startswith("cli-")
        with correlation_scope() as inner:
            assert inner == outer
        with correlation_scope(inherit=False, prefix="job") as fresh:
            assert fresh != outer
        with correlation_scope("given") as given:
            assert given == "given" == current_correlation_id()
        assert current_correlation_id() == outer
    assert current_correlation_id() is None

"""The benchmark's own code at a tiny size, so that `bench/run.py` cannot rot between full runs."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench` lives beside `workflow`, not installed

from bench import backends, data, measure_advance, measure_queries, report
from bench.results import Results


def test_the_national_campaign_spreads_cases_over_every_state_and_overdue_counts_them(tmp_path: Path) -> None:
    db = backends.create(backends.SQLITE, tmp_path, "smoke")
    gen = data.query_campaign(db, 3000)
    assert gen.cases == sum(gen.by_state.values()) == 3000
    assert set(gen.by_state) == set(data.QUERY_MIX)
    results = Results()
    measure_queries.measure_library(results, gen, repeat=1).engine.dispose()
    page = results.get(measure_queries.section(gen), "overdue --limit 100: query (library)", "SQLite")
    assert page is not None and page > 0
    text = report.console(results, ["SQLite"])
    assert "overdue --limit 100" in text and "≤ 50 ms" in text


def test_the_advance_campaign_is_ready_to_submit_and_the_raw_ceiling_runs(tmp_path: Path) -> None:
    db = backends.create(backends.SQLITE, tmp_path, "smoke")
    gen = data.advance_campaign(db, 60, groups={"naive": 10, "small": 10})
    assert [len(gen.ids[k]) for k in ("naive", "small", "rest")] == [10, 10, 40]
    raw = measure_advance.run_raw(db.kind, db.url, str(db.path), None, gen.ids["naive"], gen.now.isoformat())
    assert raw["rate"] > 0
    chunked = measure_advance.run_raw(db.kind, db.url, str(db.path), None, gen.ids["naive"], gen.now.isoformat(), 4)
    assert chunked["rate"] > 0
    with sqlite3.connect(db.path) as conn:  # both baselines wrote every case once: two versions and two history rows more
        marks = ",".join("?" * len(gen.ids["naive"]))
        assert (
            conn.execute(f"SELECT count(*) FROM history WHERE \"trigger\" = 'raw' AND case_id IN ({marks})", gen.ids["naive"]).fetchone()[0]
            == 20
        )
    naive = measure_advance.run_naive(db.url, gen.now.isoformat(), gen.ids["small"])
    assert naive["done"] + naive["refused"] == 10
    ours = measure_advance.run_ours(db.url, gen.now.isoformat(), "draft", None)
    assert ours["done"] + ours["refused"] >= 40


def test_the_bpmn_lifecycle_has_exactly_the_graph_of_states_yaml() -> None:
    pytest.importorskip("SpiffWorkflow", reason="SpiffWorkflow is the bench-only extra: pip install -e '.[bench]'")
    from bench import spiff

    spiff.load_spec()

"""`bench history RESULTS_DIR`: the index rebuilt from the run folders, every figure's trend with the compare
rule's significant changes, the same table as HTML, JSON and CSV, and the page in headless Chromium (a trend
plot per figure, nothing fetched, no error). Five stored runs derived from tests/fixtures/small_run (a real
`--profile test` run): Express 30% slower in rps in the fourth, the fifth on another machine."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from stored_runs import five_runs, stored_run
from test_report_browser import Cdp, browser  # noqa: F401  (browser: the module's Chromium fixture)

from harness.commands.main import main
from harness.errors import BenchError
from harness.history.index import INDEX_FILENAME, open_index
from harness.history.page import CSV_COLUMNS, to_csv, to_document, trends

SCENARIOS = {"throughput", "cold_start", "crud"}  # fewer figures than the whole run: a fast judgement


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return five_runs(tmp_path_factory.mktemp("history"), SCENARIOS)


def test_the_trend_marks_the_regression_the_compare_rule_sees(results):
    t = trends(results)
    assert [r.run_id for r in t.runs] == [f"run{i}" for i in range(1, 6)] and t.profile == "test"
    assert t.skipped == ["other: profile 'quick', not 'test'"]
    significant = {(p.run_id, p.target, p.scenario, p.metric, p.verdict) for p in t.points
                   if p.verdict in ("regression", "improvement")}
    assert ("run4", "express", "throughput", "rps", "regression") in significant
    assert ("run5", "express", "throughput", "rps", "improvement") in significant  # back to where it was
    assert {s[0] for s in significant} == {"run4", "run5"}  # runs 2 and 3 are run 1 again: nothing marked
    assert not [s for s in significant if s[1] == "fastapi"]  # the ratio check keeps fastapi out of it
    first = [p for p in t.points if p.run_id == "run1"]
    assert first and all(p.verdict == "" and p.change_pct is None for p in first)
    point = next(p for p in t.points if (p.run_id, p.target, p.scenario, p.metric) == ("run5", "express",
                                                                                         "throughput", "rps"))
    assert point.git_commit == "5" * 40 and point.machine.startswith("ci-2:") and point.n == 5
    assert point.ci_low <= point.median <= point.ci_high


def test_json_and_csv_are_the_same_table(results):
    t = trends(results)
    document = to_document(t)
    rows = list(csv.DictReader(io.StringIO(to_csv(t))))
    assert list(rows[0]) == CSV_COLUMNS and len(rows) == len(document["rows"]) == len(t.points)
    for row, item in zip(rows, document["rows"], strict=True):
        assert row["run_id"] == item["run_id"] and row["verdict"] == item["verdict"]
        assert float(row["median"]) == pytest.approx(item["median"])
    assert len(document["figures"]) == len(t.figures())
    json.dumps(document, allow_nan=False)


def test_the_index_follows_the_folders(tmp_path):
    results = tmp_path / "results"
    for i in (1, 2):
        stored_run(results / f"r{i}", f"r{i}", f"2026-11-0{i}T10:00:00+00:00", f"{i}" * 40, scenarios={"throughput"})
    assert [r.run_id for r in trends(results).runs] == ["r1", "r2"]
    assert (results / INDEX_FILENAME).is_file()
    stored_run(results / "r3", "r3", "2026-11-03T10:00:00+00:00", "3" * 40, scenarios={"throughput"})
    (results / "r1" / "results.json").unlink()
    (results / "r1").rmdir()
    t = trends(results)
    assert [r.run_id for r in t.runs] == ["r2", "r3"]  # a new run read, a vanished one dropped
    # a changed results.json is read again: r2 now says another commit
    data = json.loads((results / "r2" / "results.json").read_text())
    data["environment"]["git"]["commit"] = "e" * 40
    (results / "r2" / "results.json").write_text(json.dumps(data))
    assert trends(results).runs[0].git_commit == "e" * 40
    # an unreadable run is left out with a note, the others still shown
    (results / "r4").mkdir()
    (results / "r4" / "results.json").write_text("{not json")
    t = trends(results)
    assert [r.run_id for r in t.runs] == ["r2", "r3"] and any(s.startswith("r4:") for s in t.skipped)


def test_judgements_are_kept_until_a_run_they_read_changes(tmp_path, monkeypatch):
    results = tmp_path / "results"
    for i in (1, 2, 3):
        stored_run(results / f"r{i}", f"r{i}", f"2026-11-0{i}T10:00:00+00:00", f"{i}" * 40, scenarios={"throughput"},
                   scale={("express", "rps"): 0.7} if i == 3 else None)
    first = trends(results)
    calls = []
    import harness.history.page

    real = harness.history.page.judge
    monkeypatch.setattr(harness.history.page, "judge", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    assert trends(results).points == first.points and calls == []  # all kept
    assert trends(results, threshold_pct=50).points != first.points and len(calls) == 2  # another rule
    calls.clear()
    data = json.loads((results / "r2" / "results.json").read_text())
    data["environment"]["git"]["commit"] = "e" * 40
    (results / "r2" / "results.json").write_text(json.dumps(data))
    trends(results)
    assert len(calls) == 2  # r2 read again: r2 against r1 and r3 against r2 judged again


def test_a_damaged_or_foreign_index_is_rebuilt(tmp_path):
    results = tmp_path / "results"
    stored_run(results / "r1", "r1", "2026-11-01T10:00:00+00:00", "1" * 40, scenarios={"throughput"})
    (results / INDEX_FILENAME).write_bytes(b"this is not a database" * 100)
    assert [r.run_id for r in trends(results).runs] == ["r1"]
    with sqlite3.connect(results / INDEX_FILENAME) as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'index_version'")
    assert [r.run_id for r in trends(results).runs] == ["r1"]


def test_an_index_that_cannot_be_written_lives_in_memory(tmp_path):
    """A folder in the index's place (as good as a read-only results folder, which root would write anyway)."""
    results = tmp_path / "results"
    stored_run(results / "r1", "r1", "2026-11-01T10:00:00+00:00", "1" * 40, scenarios={"throughput"})
    (results / INDEX_FILENAME).mkdir()
    assert [r.run_id for r in trends(results).runs] == ["r1"]
    assert not any((results / INDEX_FILENAME).iterdir())


def test_an_index_in_memory_answers_alike(tmp_path, results):
    with open_index(results, Path(tmp_path / "no" / "such" / "folder" / "index.sqlite")) as index:
        index.refresh(results)
        assert len(index.runs()) == 6  # the quick-profile run too: the profile is chosen later


def test_bad_input(tmp_path):
    with pytest.raises(BenchError, match="no results folder"):
        trends(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchError, match="no stored run"):
        trends(tmp_path / "empty")


def test_the_command_writes_the_page_json_and_csv(results, tmp_path, capsys):
    assert main(["history", str(results), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "5 runs of profile test" in out and "run4" in out and "regression" in out
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"history.html", "history.json", "history.csv"}


# ---- the page in a real browser -----------------------------------------------------------------------------


def test_the_page_renders_in_chromium_with_a_trend_per_figure_and_fetches_nothing(browser, results, tmp_path):  # noqa: F811
    assert main(["history", str(results), "--out", str(tmp_path)]) == 0
    figures = json.loads((tmp_path / "history.json").read_text())["figures"]
    seen = _open(browser, tmp_path / "history.html")
    assert seen["svgs"] == len(figures) > 20, "one trend plot per figure"
    assert seen["empty_svgs"] == 0  # every plot has its points
    assert seen["marks"] >= 2 and seen["regressions"] >= 1  # the fourth run's regressions are ringed
    assert seen["requests"] == [] and seen["errors"] == []
    assert "default-src 'none'" in seen["csp"]
    assert seen["scrollWidth"] <= seen["innerWidth"], "the page scrolls sideways at a phone's width"
    assert "ci-2" in seen["text"] and "5555555" in seen["text"]  # each run's machine and commit are shown
    assert seen["screenshot"].startswith(b"\x89PNG")
    (tmp_path / "history-phone.png").write_bytes(seen["screenshot"])


def _open(devtools: str, page: Path) -> dict:
    """The page loaded at a phone's width: what it shows, what it fetched, what went wrong."""
    import base64
    import urllib.request

    from test_report_browser import LOCAL, PHONE, _read_events

    with LOCAL.open(urllib.request.Request(f"{devtools}/json/new?about:blank", method="PUT")) as r:
        target = json.loads(r.read())
    cdp = Cdp(target["webSocketDebuggerUrl"])
    try:
        for domain in ("Page", "Network", "Runtime", "Log"):
            cdp.call(f"{domain}.enable")
        cdp.call("Emulation.setDeviceMetricsOverride", width=PHONE[0], height=PHONE[1], deviceScaleFactor=1,
                 mobile=True)
        url = page.resolve().as_uri()
        cdp.call("Page.navigate", url=url)
        cdp.wait_for("Page.loadEventFired")
        facts = cdp.call("Runtime.evaluate", returnByValue=True, expression=(
            "({svgs: document.querySelectorAll('svg.trend').length,"
            " empty_svgs: [...document.querySelectorAll('svg.trend')].filter(s => !s.querySelector('circle.point')"
            "   || s.getBoundingClientRect().width < 100).length,"
            " marks: document.querySelectorAll('circle.mark').length,"
            " regressions: document.querySelectorAll('circle.mark.regression').length,"
            " scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,"
            " text: document.body.innerText,"
            " csp: document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]')?.content || ''})"))
        seen = facts["result"]["value"]
        seen["screenshot"] = base64.b64decode(cdp.call("Page.captureScreenshot", format="png")["data"])
        cdp.call("Runtime.evaluate", expression="0")
        from test_report_browser import PageLoad

        load = PageLoad()
        _read_events(cdp.events, url, load)
        seen["requests"], seen["errors"] = load.requests, load.errors
        return seen
    finally:
        cdp.ws.close()
        LOCAL.open(f"{devtools}/json/close/{target['id']}").close()

"""The scaling model (bench/scaling.py), as rules: pure functions of the measured
durations and today's traffic, checked against hand-worked figures."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from app.settings import Settings
from bench import scaling
from bench.scaling import Durations, Traffic

ROOT = Path(__file__).resolve().parents[2]
TIMING = Durations(hello_ms=3.0, order_ms=6.0, cold_ms=300.0)
TODAY = Traffic()


def limit(key: str) -> scaling.Limit:
    return next(lim for lim in scaling.LIMITS if lim.key == key)


def test_durations_are_the_published_runs_medians() -> None:
    results = json.loads(scaling.LATEST.read_text())
    timing = scaling.durations(results)
    assert timing.order_ms == results["deployed"]["ours_deployed"]["order_warm_us"]["median"] / 1000
    assert timing.hello_ms == results["snapstart"]["ours_deployed"]["hello_warm_us"]["median"] / 1000
    assert timing.cold_ms == results["deployed"]["ours_deployed"]["order_total_ms"]["median"]


def test_one_unit_of_concurrency_serves_at_most_ten_requests_a_second() -> None:
    """Lambda's per-environment rate binds below 100 ms; the duration above it."""
    assert scaling.per_unit(6.0) == 10.0
    assert scaling.per_unit(100.0) == 10.0
    assert scaling.per_unit(250.0) == 4.0
    assert scaling.per_unit(TIMING.cold_ms) == pytest.approx(3.33, abs=0.01)


def test_a_routes_duration_is_the_measured_time_per_dynamodb_call() -> None:
    by_label = {r.label: r for r in scaling.ROUTES}
    assert TIMING.route_ms(by_label["GET /orders/{id}"]) == 6.0  # the measured route itself
    assert TIMING.route_ms(by_label["POST /orders"]) == 9.0


def test_todays_traffic_is_stated_in_requests_per_second() -> None:
    """120 orders an hour, the busiest minute twice that: 4 a minute; 14 requests each."""
    assert TODAY.orders_per_second(1) * 60 == pytest.approx(4.0)
    rps = scaling.route_rps(TODAY, 1)
    assert rps["GET /menu"] == pytest.approx(4 / 60 * 4)
    assert sum(rps.values()) == pytest.approx(4 / 60 * 14)
    assert sum(scaling.route_rps(TODAY, 10).values()) == pytest.approx(10 * sum(rps.values()))


def test_the_staff_fan_out_grows_with_the_square_of_the_traffic() -> None:
    """Every order change goes to every staff connection: N times the orders to N times the staff."""
    account = limit("account_rps")
    http = sum(scaling.route_rps(TODAY, 100).values())
    changes = TODAY.orders_per_second(100) * 4  # placed, then three moves
    assert account.demand(TODAY, TIMING, 100) == pytest.approx(http + changes * (3 * 100 + 1))


def test_the_staff_audience_query_reads_every_membership() -> None:
    reads = limit("staff_reads")
    # 3,000 staff connections of 200 bytes: 147 4-KB units, eventually consistent: 73.5 RCU a change.
    changes = TODAY.orders_per_second(1000) * 4
    assert reads.demand(TODAY, TIMING, 1000) == pytest.approx(changes * 73.5)
    assert scaling.items_rcu(1, 4096, consistent=True) == 1
    assert scaling.items_rcu(0, 200) == 0.5  # an empty Query still costs a unit


def test_a_breaking_point_is_where_demand_meets_the_quota() -> None:
    for lim in scaling.LIMITS:
        point = scaling.breaking_point(lim, TODAY, TIMING)
        if math.isinf(point):
            assert lim.demand(TODAY, TIMING, 1e6) < lim.quota
            continue
        assert lim.demand(TODAY, TIMING, point) >= lim.quota
        assert lim.demand(TODAY, TIMING, point * 0.999) < lim.quota
    stage = scaling.breaking_point(limit("stage"), TODAY, TIMING)
    assert stage == pytest.approx(50 / (4 / 60 * 14), rel=1e-3)  # 53.6x


def test_a_clients_own_counter_does_not_grow_with_more_clients() -> None:
    assert math.isinf(scaling.breaking_point(limit("rate_counter"), TODAY, TIMING))
    assert math.isinf(scaling.breaking_point(limit("client_limit"), TODAY, TIMING))
    # One staff device's share: (3 moves + 2 board reads) of every order, over 3 devices.
    assert limit("client_limit").demand(TODAY, TIMING, 7) == pytest.approx(4 / 60 * 5 / 3)


def test_the_report_names_what_breaks_first_in_order() -> None:
    text = scaling.render(TODAY, TIMING)
    ordered = scaling.first_breaks(TODAY, TIMING)
    first = text.split("Breaks first:")[1].strip().splitlines()
    assert [line.split(": ", 1)[1].rsplit(" (", 1)[0] for line in first] == [
        lim.what for _, lim in ordered[:3]
    ]
    points = [p for p, _ in ordered]
    assert points == sorted(points)
    assert f"at {ordered[0][0]:,.0f}x" in first[0]
    assert "Requests per second per unit of Lambda concurrency" in text


def test_every_quota_names_its_source() -> None:
    for lim in scaling.LIMITS:
        assert (
            lim.source.startswith("https://docs.aws.amazon.com/") or (ROOT / lim.source.split()[0]).is_file()
        )


def test_the_projects_own_settings_are_read_as_configured() -> None:
    """The stage throttle and the per-client limit are the template's and the app's defaults."""
    template = (ROOT / "template.yaml").read_text()
    default = re.search(r"\n  ThrottlingRateLimit:\n(?:    .*\n)*?    Default: (\d+)", template)
    assert default is not None
    assert float(default.group(1)) == scaling.STAGE_RATE_LIMIT
    assert Settings().rate_limit == f"{scaling.CLIENT_RATE_PER_MINUTE:g}/minute"


def test_main_prints_the_model_of_the_published_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert scaling.main([]) == 0
    out = capsys.readouterr().out
    timing = scaling.durations(json.loads(scaling.LATEST.read_text()))
    assert f"warm GET /orders/{{id}} {timing.order_ms:.2f} ms" in out
    assert "Breaks first:" in out


def test_the_published_tables_are_the_published_runs() -> None:
    """docs/scaling.md includes bench/results/scaling.md: what the model makes of latest.json."""
    results = json.loads(scaling.LATEST.read_text())
    assert scaling.RESULTS_MD.read_text() == scaling.markdown(Traffic(), scaling.durations(results))


def test_shares_read_as_percentages_then_multiples() -> None:
    assert scaling.share(81, 100) == "81%"
    assert scaling.share(999, 100) == "999%"
    assert scaling.share(8003, 100) == "80x"
    row = next(line for line in scaling.markdown(TODAY, TIMING).splitlines() if "RATE#" in line)
    assert "RATE#&lt;client>" in row  # not an HTML tag on the page


def test_the_pages_account_of_what_breaks_first_is_the_models() -> None:
    """docs/scaling.md's numbered list names the first five limits, in the model's order,
    each 'at about Nx' within 3% of where the model (on the published run) reaches it."""
    page = (ROOT / "docs" / "scaling.md").read_text()
    said = [
        float(n.replace(",", "")) for n in re.findall(r"^\d\. \*\*.*?, at about ([\d,]+)x\.\*\*", page, re.M)
    ]
    timing = scaling.durations(json.loads(scaling.LATEST.read_text()))
    model = [point for point, _ in scaling.first_breaks(TODAY, timing)[:5]]
    assert len(said) == 5
    assert said == pytest.approx(model, rel=0.03)

"""SLA figures against a real Prometheus (Debian's `prometheus`, backfilled by `promtool` with the month in
tests/sla_month.py, whose answers are known by construction): the CLI's report in every format, maintenance
announced from Slack, an incident's error budget, and Prometheus' refusals.

Needs WARROOM_TEST_PROMETHEUS, the prometheus binary (.ci/run installs the package and sets it)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import aiohttp
import pytest
import yaml

from bot.config import settings_from_mapping
from bot.core.incident import DomainError, Incident, Severity
from bot.core.sla import Month, Verdict
from bot.integrations.prometheus import Prometheus
from bot.services.sla import SlaService
from tests.conftest import ALICE, BOB, TEST_CONFIG, FakeClock, free_port
from tests.sla_month import API, MAINTENANCE, SERVICES, WEB, binary

pytestmark = pytest.mark.skipif(not binary(), reason="needs WARROOM_TEST_PROMETHEUS, the path of the prometheus "
                                                     "binary (.ci/run installs the prometheus package and sets it)")
CUSTOMERS = [{"name": "Acme", "tier": "enterprise", "services": ["api", "web"], "monthly_fee": 12345.5},
             {"name": "Globex", "tier": "pro", "services": ["api"], "monthly_fee": 500, "currency": "EUR"},
             {"name": "Hobbyist", "tier": "free", "services": ["web"]}]


def sla_config(url: str, **changes) -> dict:
    return {**TEST_CONFIG, "sla": {"prometheus_url": url, "services": SERVICES, "maintenance": MAINTENANCE,
                                   "customers": CUSTOMERS, **changes}}


def report(prometheus_url: str, tmp_path: Path, *args: str, config: dict | None = None) -> subprocess.CompletedProcess:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config or sla_config(prometheus_url)))
    env = {**os.environ, "WARROOM_CONFIG": str(path), "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"}
    return subprocess.run([sys.executable, "-m", "bot", "sla", "report", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_months_report_counts_every_window_exactly(prometheus, tmp_path):
    done = report(prometheus.url, tmp_path, "--month", "2026-10", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["month"] == "2026-10" and data["complete"] is True
    api, web = data["services"]["api"], data["services"]["web"]
    assert api["windows"] == {"total": API["windows"], "good": API["good"], "bad": API["bad"],
                              "bad_no_data": API["bad_no_data"], "excluded": API["excluded"]}
    assert web["windows"]["good"] == WEB["good"] and web["windows"]["bad"] == WEB["bad"]
    assert api["availability_pct"] == round(8897 / 8916 * 100, 6)
    assert api["downtime_minutes"] == 95
    assert api["error_budget"]["enterprise"] == {"target_pct": 99.9, "allowed_minutes": 44.58, "consumed_minutes": 95,
                                                 "remaining_minutes": -50.42, "remaining_pct": -113.100}
    assert api["error_budget"]["pro"]["remaining_minutes"] == 127.9
    assert api["credits"] == {"pro_pct": 0, "enterprise_pct": 20}  # 99.787 %: two started tenths below 99.9
    assert web["credits"] == {"pro_pct": 0, "enterprise_pct": 0}
    assert [(p["start"], p["minutes"], p["no_data_minutes"]) for p in api["bad_periods"]] == [
        ("2026-10-03T10:00:00Z", 30, 0), ("2026-10-07T08:00:00Z", 10, 0), ("2026-10-10T15:00:00Z", 5, 0),
        ("2026-10-12T00:00:00Z", 20, 20), ("2026-10-20T02:00:00Z", 30, 30)]
    customers = {c["name"]: c for c in data["customers"]}
    assert (customers["Acme"]["credit_pct"], customers["Acme"]["credit_amount"]) == (20, "2469.10")
    assert customers["Acme"]["service"] == "api"
    assert (customers["Globex"]["credit_pct"], customers["Globex"]["currency"]) == (0, "EUR")
    assert customers["Hobbyist"]["credit_pct"] == 0


def test_text_and_csv_carry_the_same_figures(prometheus, tmp_path):
    text = report(prometheus.url, tmp_path, "--month", "2026-10", "--service", "api")
    assert text.returncode == 0, text.stderr
    assert "api: 99.787 % available, 95 min down" in text.stdout
    assert "web:" not in text.stdout and "Acme (enterprise): 20 % = 2469.10 USD (api)" in text.stdout
    rows = list(csv.DictReader(io.StringIO(report(prometheus.url, tmp_path, "--month", "2026-10", "--format",
                                                  "csv").stdout)))
    assert [(r["service"], r["windows_bad_no_data"], r["enterprise_credit_pct"]) for r in rows] == [
        ("api", "10", "20"), ("web", "0", "0")]


async def test_maintenance_announced_from_slack_in_time_is_excluded(prometheus, store):
    clock = FakeClock(datetime(2026, 10, 16, 9, 0, tzinfo=UTC))
    config = sla_config(prometheus.url)
    config["sla"]["maintenance"] = MAINTENANCE[:1]  # the late one is announced from Slack instead, 4 days ahead
    async with aiohttp.ClientSession() as http:
        service = SlaService(store, settings_from_mapping(config), clock, Prometheus(prometheus.url, http))
        start = datetime(2026, 10, 20, 2, 0, tzinfo=UTC)
        first = await service.announce_maintenance("api", start, start + timedelta(minutes=30), ALICE, "k1")
        again = await service.announce_maintenance("api", start, start + timedelta(minutes=30), ALICE, "k1")
        assert first.created and first.window.excluded and not again.created
        soon = clock.now() + timedelta(hours=1)
        late = await service.announce_maintenance("web", soon, soon + timedelta(hours=1), ALICE, "k2")
        assert not late.window.excluded  # announced an hour ahead: it counts against the SLA
        clock.current = datetime(2026, 11, 2, tzinfo=UTC)
        api = (await service.report(Month(2026, 10), "api")).service("api")
        assert (api.count(Verdict.EXCLUDED), api.count(Verdict.BAD_NO_DATA)) == (18, 4)
        assert api.availability == Fraction(8897, 8910)
        listed = await service.upcoming_maintenance(days_back=30)
        assert [(m.service, m.by) for m in listed] == [("api", "config.yaml"), ("web", ALICE), ("api", ALICE)]


async def test_the_month_so_far_counts_closed_windows_and_caches_final_days(prometheus, store):
    clock = FakeClock(datetime(2026, 10, 3, 10, 17, tzinfo=UTC))
    async with aiohttp.ClientSession() as http:
        service = SlaService(store, settings_from_mapping(sla_config(prometheus.url)), clock,
                             Prometheus(prometheus.url, http))
        so_far = (await service.report(Month(2026, 10), "api")).service("api")
        assert len(so_far.verdicts) == 2 * 288 + 123 and so_far.bad == 3  # 10:00, 10:05, 10:10 closed
        daily = await service.month_to_date("api", clock.now(), Month(2026, 10).start)
        assert daily.verdicts == so_far.verdicts
        assert len(service._days) == 2  # 10-01 and 10-02 are final; today is asked again next time


async def test_an_incident_knows_the_error_budget_it_consumed(prometheus, store):
    clock = FakeClock(datetime(2026, 11, 2, tzinfo=UTC))
    async with aiohttp.ClientSession() as http:
        service = SlaService(store, settings_from_mapping(sla_config(prometheus.url)), clock,
                             Prometheus(prometheus.url, http))
        incident = Incident("errors", Severity.SEV2, ALICE, datetime(2026, 10, 3, 10, 8, tzinfo=UTC), service="api",
                            impact_started_at=datetime(2026, 10, 3, 10, 1, tzinfo=UTC),
                            resolved_at=datetime(2026, 10, 3, 10, 44, tzinfo=UTC))
        assert await service.incident_impact(incident) == {"api": 30}
        anywhere = Incident("web", Severity.SEV2, ALICE, datetime(2026, 10, 22, 13, 58, tzinfo=UTC),
                            resolved_at=datetime(2026, 10, 22, 16, 3, tzinfo=UTC))
        assert await service.incident_impact(anywhere) == {"api": 0, "web": 15}


async def test_prometheus_refusals_and_absence_are_named(prometheus, store, tmp_path):
    config = sla_config(prometheus.url)
    config["sla"]["services"] = {"api": {"total": 'http_requests_total{service=~"("}',
                                         "errors": 'http_requests_total{code="500"}'}}
    config["sla"]["customers"], config["sla"]["maintenance"] = [], []
    async with aiohttp.ClientSession() as http:
        service = SlaService(store, settings_from_mapping(config), FakeClock(), Prometheus(prometheus.url, http))
        with pytest.raises(DomainError, match=r"sla.services.api: Prometheus refused .*error parsing regexp"):
            await service.report(Month(2026, 10))
    down = report(f"http://127.0.0.1:{free_port()}", tmp_path, "--month", "2026-10")
    assert down.returncode == 1 and "is unreachable" in down.stderr and not down.stdout


async def test_sla_in_slack_answers_with_the_figures_and_dms_the_chart(prometheus, sandbox, bot_factory):
    from tests.slack.helpers import replies_to, settle

    clock = FakeClock(datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    sandbox.workspace.add_usergroup("finance-team", [ALICE])
    config = {**sla_config(prometheus.url), "permissions": {"sla_finance": "finance-team"}}
    bot = await bot_factory(settings_from_mapping(config), clock)
    await sandbox.slash(ALICE, "general", "/sla", "")
    await sandbox.slash(ALICE, "general", "/sla", "api 2026-10")
    await sandbox.slash(ALICE, "general", "/sla", "2026-12")
    await settle(bot)
    replies = sorted(replies_to(sandbox, ALICE))  # each /sla is a job of its own: they may finish in any order
    future, api, to_date = replies
    assert future == ":warning: 2026-12 has not begun yet."
    # 6768 windows closed by 10-24 12:00; api: 12 excluded, 19 bad, so 6737 of 6756; web: 3 bad of 6768
    assert to_date == "SLA 2026-10 to date: api 99.719 %, web 99.956 %"
    assert api == "SLA 2026-10 to date: api 99.719 %"
    blocks = str(next(e.blocks for e in sandbox.ephemerals_for(ALICE) if e.text == api))
    assert "bad 2026-10-20 02:00–02:30 UTC (30 min)" in blocks and "Acme (enterprise): 20 %" in blocks
    dm = sandbox.workspace.dm(ALICE)
    shared = [m for m in dm.messages if m.subtype == "file_share"]
    assert len(shared) == 2
    png = sandbox.workspace.files[shared[-1].files[0]]
    assert png["bytes"][:8] == b"\x89PNG\r\n\x1a\n"
    await sandbox.slash(BOB, "general", "/sla", "api 2026-10")  # not in finance: the tiers' credits, no customers
    await settle(bot)
    seen = str(sandbox.ephemerals_for(BOB)[-1].blocks)
    assert "Enterprise 20 %" in seen
    assert "Acme" not in seen and "*Credits owed*" not in seen
    assert sorted(sandbox.workspace.files[m.files[0]]["title"] for m in shared) == ["SLA 2026-10", "SLA 2026-10 · api"]

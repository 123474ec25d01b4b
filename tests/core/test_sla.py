from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from bot.core.incident import DomainError
from bot.core.sla import (
    FAST_BURN,
    SLOW_BURN,
    Compliance,
    CounterWindows,
    Maintenance,
    Month,
    ProbeWindows,
    Span,
    Verdict,
    burning,
    exclude_maintenance,
    judge_counters,
    judge_probes,
    number,
    to_ms,
)
from bot.core.sla_credits import (
    Customer,
    Tier,
    customer_credit,
    enterprise_credit,
    pro_credit,
)

START = datetime(2026, 10, 1, tzinfo=UTC)
G, B, N, X = Verdict.GOOD, Verdict.BAD, Verdict.BAD_NO_DATA, Verdict.EXCLUDED


def at(minutes: float) -> int:
    return to_ms(START + timedelta(minutes=minutes))


def raw(*samples: tuple[float, object]) -> list[tuple[float, str]]:
    """As Prometheus gives them: (seconds, "value"), from (minutes after START, value)."""
    return [((START + timedelta(minutes=m)).timestamp(), str(v)) for m, v in samples]


def test_a_month_is_cut_into_five_minute_windows_on_the_clock():
    assert Month.parse("2026-10").span.windows == 31 * 288
    assert Month.parse("2026-02").span.windows == 28 * 288
    assert Month.parse("2026-12").next() == Month(2027, 1) and Month(2027, 1).previous() == Month(2026, 12)
    for bad in ("2026-13", "26-10", "2026-1", "october"):
        with pytest.raises(DomainError, match="YYYY-MM"):
            Month.parse(bad)
    with pytest.raises(ValueError):
        Span(START + timedelta(minutes=1), 3)


def test_a_sample_belongs_to_the_window_it_closes():
    span = Span(START, 3)
    assert span.index_of_sample(at(0)) == -1  # the value at 00:00 is the baseline of [00:00, 00:05)
    assert span.index_of_sample(at(0) + 1) == 0
    assert span.index_of_sample(at(5)) == 0  # the value at 00:05 closes [00:00, 00:05)
    assert span.index_of_sample(at(5) + 1) == 1
    assert span.until(START + timedelta(minutes=11)).windows == 2


def test_increase_between_boundaries_with_a_reset_and_a_new_series():
    windows = CounterWindows(Span(START, 3))
    windows.baseline("a", 100)
    windows.add("a", raw((1, 110), (5, 120), (7, 5), (10, 15)))  # reset at 00:07: 5 counted from zero
    windows.add("b", raw((12, 4), (16, 9)))  # first seen inside the span: counts from zero; 00:16 is past the span
    assert windows.increase == [20, 15, 4]
    assert list(windows.sampled) == [1, 1, 1]


def test_window_verdicts_exactly_at_five_percent_and_without_data():
    span = Span(START, 5)
    total, errors = CounterWindows(span), CounterWindows(span)
    total.baseline("t", 0)
    errors.baseline("e", 0)
    total.add("t", raw((5, 100), (10, 200), (15, 200), (25, 10300)))  # nothing in (15, 20]
    errors.add("e", raw((5, 5), (10, 9), (25, 309)))
    # 5 of 100 (exactly 5 %: bad), 4 of 100, no traffic with samples (good), no sample (bad), 300 of 10100
    assert judge_counters(total, errors) == [B, G, G, N, G]


def test_errors_series_absent_means_no_errors_and_fractional_values_stay_exact():
    span = Span(START, 1)
    total = CounterWindows(span)
    total.add("t", raw((1, "0.1"), (2, "NaN"), (3, "0.3")))  # a NaN is skipped
    assert total.increase == [Fraction(3, 10)]
    assert number("NaN") is None and number("+Inf") is None and number("1e3") == 1000
    assert judge_counters(total, None) == [G]


def test_probe_windows_judge_the_failed_share():
    span = Span(START, 3)
    probes = ProbeWindows(span)
    probes.add("eu", raw(*[(m, 1) for m in (1, 2, 3, 4, 5)], (6, 0), *[(m, 1) for m in range(7, 11)]))
    probes.add("us", raw(*[(m, 1) for m in range(1, 11)]))
    assert judge_probes(probes) == [G, B, N]  # 1 failed of 10 in the second window is 10 %


def test_maintenance_counts_only_when_announced_72_hours_ahead():
    span = Span(START, 6)
    start = START + timedelta(minutes=7)
    early = Maintenance("api", start, start + timedelta(minutes=6), start - timedelta(hours=72))
    late = Maintenance("api", start, start + timedelta(minutes=20), start - timedelta(hours=71, minutes=59))
    assert early.excluded and not late.excluded
    verdicts = [B] * 6
    assert exclude_maintenance(verdicts, span, "api", [early, late]) == [B, X, X, B, B, B]  # 00:07–00:13 overlaps two
    assert exclude_maintenance(verdicts, span, "web", [early]) == verdicts
    everything = Maintenance("*", early.start, early.end, early.announced)
    assert exclude_maintenance(verdicts, span, "web", [everything])[1] is X


def test_availability_budget_and_bad_periods():
    compliance = Compliance("api", Span(START, 10), (G, B, N, G, X, G, G, G, B, G))
    assert (compliance.good, compliance.bad, compliance.eligible) == (6, 3, 9)
    assert compliance.availability == Fraction(6, 9)
    assert compliance.downtime_minutes == 15
    budget = compliance.budget(Fraction(999, 1000))
    assert budget.allowed_minutes == Fraction(45, 1000) and budget.consumed_minutes == 15
    assert budget.remaining_minutes < 0 and budget.remaining_share < -1  # overspent
    periods = compliance.bad_periods()
    assert [(p.start, p.minutes, p.no_data_minutes) for p in periods] == [
        (START + timedelta(minutes=5), 10, 5), (START + timedelta(minutes=40), 5, 0)]
    assert compliance.between(START + timedelta(minutes=6), START + timedelta(minutes=20)).verdicts == (B, N, G)
    assert Compliance("api", Span(START, 1), (X,)).availability is None


@pytest.mark.parametrize("availability, credit", [
    ("1", 0), ("0.999", 0), ("0.99899999", 10), ("0.998", 10), ("0.99799", 20), ("0.997", 20), ("0.9969", 30),
    ("0.5", 30)])
def test_enterprise_credit_per_started_tenth_of_a_point(availability, credit):
    assert enterprise_credit(Fraction(availability)) == credit


def test_pro_credit_per_started_tenth_of_the_allowed_downtime():
    eligible = 8000  # L = 40 minutes; a step is 4 minutes of excess
    assert pro_credit(40, eligible) == 0
    assert pro_credit(41, eligible) == 10
    assert pro_credit(44, eligible) == 10  # exactly one step is one step
    assert pro_credit(45, eligible) == 20
    assert pro_credit(80, eligible) == 100 and pro_credit(8000, eligible) == 100
    assert pro_credit(0, 0) == 0


def test_a_customer_gets_the_credit_of_its_worst_service_in_money():
    month = Month(2026, 10).span
    fine = Compliance("web", month, (G,) * 1000)
    poor = Compliance("api", month, (G,) * 997 + (B,) * 3)  # 99.7 %
    customer = Customer("Acme", Tier.ENTERPRISE, ("api", "web"), Decimal("12345.67"))
    owed = customer_credit(customer, {"api": poor, "web": fine})
    assert (owed.percent, owed.amount, owed.worst_service) == (20, Decimal("2469.13"), "api")
    assert customer_credit(Customer("Hobby", Tier.FREE, ("api",), Decimal(0)), {"api": poor}).percent == 0


def test_burn_rates_need_both_windows():
    slo = Fraction(999, 1000)
    assert burning([G] * 11 + [B], slo, FAST_BURN)  # 1 of 12 in the hour, and the last 5 minutes bad
    assert not burning([B] + [G] * 11, slo, FAST_BURN)  # the hour burns, the last 5 minutes do not
    assert not burning([G] * 72, slo, SLOW_BURN)
    assert burning([G] * 66 + [B] * 6, Fraction(99, 100), SLOW_BURN)

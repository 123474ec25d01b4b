"""SLA compliance, exactly: 5-minute windows cut on the clock (UTC), each judged good or bad from raw Prometheus
samples; availability, error budgets and bad periods over a month (bot/core/sla_credits.py turns them into money).

Which window a sample belongs to: the one it closes, `(start, end]`. A counter's value at a boundary is its last
sample at or before it (what an instant query at that moment answers), so a window's increase is the sum of
the increases between consecutive samples whose later sample lies in `(start, end]`: every request is counted
in exactly one window and nothing is extrapolated."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from bot.core.incident import DomainError

WINDOW = timedelta(minutes=5)
WINDOW_MS = 300_000
WINDOW_MINUTES = 5
BAD_ERROR_SHARE = Fraction(5, 100)  # a window is bad at 5 % errors or more ("below 5 %" is good)
MAINTENANCE_NOTICE = timedelta(hours=72)  # maintenance announced at least this long before it starts is excluded


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class Span:
    """Consecutive windows from `start` (on a 5-minute boundary)."""

    start: datetime
    windows: int

    def __post_init__(self) -> None:
        if to_ms(self.start) % WINDOW_MS:
            raise ValueError(f"{self.start} is not on a 5-minute boundary")

    @property
    def end(self) -> datetime:
        return self.start + WINDOW * self.windows

    def window_start(self, index: int) -> datetime:
        return self.start + WINDOW * index

    def index_of_sample(self, ms: int) -> int:
        """The window a sample taken at `ms` closes: (start, end]. -1 is before the span."""
        return (ms - to_ms(self.start) - 1) // WINDOW_MS

    def index_of(self, moment: datetime) -> int:
        """The window `moment` lies in: [start, end)."""
        return (to_ms(moment) - to_ms(self.start)) // WINDOW_MS

    def until(self, now: datetime) -> Span:
        """The windows that have closed by `now`."""
        closed = max(0, min(self.windows, (to_ms(now) - to_ms(self.start)) // WINDOW_MS))
        return Span(self.start, closed)


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        try:
            year, month = (int(part) for part in text.split("-"))
            if not (2000 <= year <= 2999 and 1 <= month <= 12) or len(text) != 7:
                raise ValueError
        except ValueError:
            raise DomainError(f"`{text}` is not a month: use YYYY-MM, e.g. 2026-10") from None
        return cls(year, month)

    @classmethod
    def of(cls, moment: datetime) -> Month:
        moment = moment.astimezone(UTC)
        return cls(moment.year, moment.month)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def span(self) -> Span:
        return Span(self.start, int((self.next().start - self.start) / WINDOW))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def number(text: str) -> int | Fraction | None:
    """A sample value from Prometheus' JSON, exactly (None for NaN and infinities)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None


class CounterWindows:
    """The per-window increase of a set of counter series (all series of one selector, summed), fed their raw
    samples in time order, a chunk at a time, as Prometheus gives them: (seconds, "value"). Memory is a few
    numbers per window and one per series."""

    def __init__(self, span: Span):
        self.span = span
        self.increase: list[int | Fraction] = [0] * span.windows
        self.sampled = bytearray(span.windows)
        self.last: dict[Hashable, int | Fraction] = {}

    def baseline(self, series: Hashable, value: int | Fraction) -> None:
        """The series' last value at or before the span starts."""
        self.last[series] = value

    def add(self, series: Hashable, samples: Iterable[tuple[float, str]]) -> None:
        previous = self.last.get(series)
        windows, start_ms, increase, sampled = self.span.windows, to_ms(self.span.start), self.increase, self.sampled
        for seconds, text in samples:
            index = (int(seconds * 1000 + 0.5) - start_ms - 1) // WINDOW_MS  # the window this sample closes
            if index >= windows:
                break
            try:
                value = int(text)  # counters are whole numbers, nearly always
            except ValueError:
                value = number(text)
                if value is None:
                    continue
            if index >= 0:
                sampled[index] = 1
                # A value below the previous one is a counter reset: it counted up from zero since. A series
                # first seen inside the span counts from zero too (Prometheus' increase() would drop it).
                increase[index] += value if previous is None or value < previous else value - previous
            previous = value
        if previous is not None:
            self.last[series] = previous


class ProbeWindows:
    """Per window, how many probe results there were and how many failed (a value of 0)."""

    def __init__(self, span: Span):
        self.span = span
        self.results = [0] * span.windows
        self.failed = [0] * span.windows

    def add(self, series: Hashable, samples: Iterable[tuple[float, str]]) -> None:
        windows, start_ms, results, failed = self.span.windows, to_ms(self.span.start), self.results, self.failed
        for seconds, text in samples:
            index = (int(seconds * 1000 + 0.5) - start_ms - 1) // WINDOW_MS
            if index >= windows:
                break
            if index >= 0 and text in ("0", "1"):  # what probe_success says
                results[index] += 1
                failed[index] += text == "0"
            elif index >= 0 and (value := number(text)) is not None:
                results[index] += 1
                failed[index] += value == 0


class Verdict(StrEnum):
    GOOD = "good"
    BAD = "bad"  # 5 % or more of the requests (or probe results) failed
    BAD_NO_DATA = "bad_no_data"  # no sample at all: the service, or its scrape, was down
    EXCLUDED = "excluded"  # scheduled maintenance announced in time


def judge_share(failed: int | Fraction, all_: int | Fraction, sampled: bool) -> Verdict:
    if not sampled:
        return Verdict.BAD_NO_DATA
    if all_ <= 0:
        return Verdict.GOOD  # samples and no traffic: nothing failed
    if type(failed) is int and type(all_) is int:  # the usual case, without building fractions
        return Verdict.BAD if failed * BAD_ERROR_SHARE.denominator >= all_ * BAD_ERROR_SHARE.numerator else Verdict.GOOD
    return Verdict.BAD if Fraction(failed) / Fraction(all_) >= BAD_ERROR_SHARE else Verdict.GOOD


def judge_counters(total: CounterWindows, errors: CounterWindows | None) -> list[Verdict]:
    error_increase = errors.increase if errors else [0] * total.span.windows
    return [judge_share(error_increase[i], total.increase[i], bool(total.sampled[i]))
            for i in range(total.span.windows)]


def judge_probes(probes: ProbeWindows) -> list[Verdict]:
    return [judge_share(probes.failed[i], probes.results[i], probes.results[i] > 0)
            for i in range(probes.span.windows)]


@dataclass(frozen=True)
class Maintenance:
    service: str
    start: datetime
    end: datetime
    announced: datetime
    by: str = ""  # config.yaml, or the Slack user who announced it
    id: int | None = None

    @property
    def excluded(self) -> bool:
        """Only maintenance announced at least 72 hours ahead is kept out of the SLA."""
        return self.announced <= self.start - MAINTENANCE_NOTICE

    def covers(self, service: str) -> bool:
        return self.service in (service, "*")


def exclude_maintenance(verdicts: list[Verdict], span: Span, service: str,
                        maintenance: Iterable[Maintenance]) -> list[Verdict]:
    """Windows that overlap maintenance announced in time count neither good nor bad."""
    verdicts = list(verdicts)
    for window in maintenance:
        if not (window.covers(service) and window.excluded):
            continue
        first = max(0, span.index_of(window.start))
        last = min(len(verdicts) - 1, span.index_of(window.end - timedelta(microseconds=1)))
        for index in range(first, last + 1):
            verdicts[index] = Verdict.EXCLUDED
    return verdicts


@dataclass(frozen=True)
class BadPeriod:
    start: datetime
    end: datetime
    no_data_minutes: int

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


@dataclass(frozen=True)
class Budget:
    target: Fraction
    allowed_minutes: Fraction
    consumed_minutes: int

    @property
    def remaining_minutes(self) -> Fraction:
        return self.allowed_minutes - self.consumed_minutes

    @property
    def remaining_share(self) -> Fraction | None:
        """Of the allowed minutes, what is left (negative once overspent); None when nothing was allowed."""
        return self.remaining_minutes / self.allowed_minutes if self.allowed_minutes else None


@dataclass(frozen=True)
class Compliance:
    """One service over a span of windows (a month, or the month so far)."""

    service: str
    span: Span
    verdicts: tuple[Verdict, ...]

    def count(self, verdict: Verdict) -> int:
        return self.verdicts.count(verdict)

    @property
    def good(self) -> int:
        return self.count(Verdict.GOOD)

    @property
    def bad(self) -> int:
        """Bad windows of either kind."""
        return self.count(Verdict.BAD) + self.count(Verdict.BAD_NO_DATA)

    @property
    def eligible(self) -> int:
        return self.good + self.bad

    @property
    def eligible_minutes(self) -> int:
        return self.eligible * WINDOW_MINUTES

    @property
    def downtime_minutes(self) -> int:
        return self.bad * WINDOW_MINUTES

    @property
    def availability(self) -> Fraction | None:
        """good / (good + bad); None when no window counts (nothing closed yet, or all maintenance)."""
        return Fraction(self.good, self.eligible) if self.eligible else None

    def budget(self, target: Fraction) -> Budget:
        return Budget(target, (1 - target) * self.eligible_minutes, self.downtime_minutes)

    def bad_periods(self) -> list[BadPeriod]:
        """Runs of consecutive bad windows."""
        periods, run_start, no_data = [], None, 0
        for index, verdict in enumerate((*self.verdicts, Verdict.GOOD)):
            if verdict in (Verdict.BAD, Verdict.BAD_NO_DATA):
                run_start = index if run_start is None else run_start
                no_data += WINDOW_MINUTES if verdict is Verdict.BAD_NO_DATA else 0
            elif run_start is not None:
                periods.append(BadPeriod(self.span.window_start(run_start), self.span.window_start(index), no_data))
                run_start, no_data = None, 0
        return periods

    def between(self, start: datetime, end: datetime) -> Compliance:
        """The windows that overlap [start, end)."""
        first = max(0, self.span.index_of(start))
        last = min(len(self.verdicts), self.span.index_of(end - timedelta(microseconds=1)) + 1)
        first = min(first, last)
        return Compliance(self.service, Span(self.span.window_start(first), last - first),
                          self.verdicts[first:last])

    def daily(self) -> list[tuple[datetime, Fraction | None]]:
        """Availability per UTC day, for the chart."""
        per_day = int(timedelta(days=1) / WINDOW)
        days = []
        for first in range(0, len(self.verdicts), per_day):
            part = Compliance(self.service, Span(self.span.window_start(first), 0), self.verdicts[first:first + per_day])
            days.append((self.span.window_start(first), part.availability))
        return days


def burn_rate(verdicts: Sequence[Verdict], windows: int, slo: Fraction) -> Fraction:
    """How fast the last `windows` windows spend the error budget: their bad share over the SLO's allowed share
    (1 means on pace to spend exactly the budget). Excluded windows do not count."""
    recent = [v for v in verdicts[-windows:] if v is not Verdict.EXCLUDED]
    if not recent or slo >= 1:
        return Fraction(0)
    bad = sum(v in (Verdict.BAD, Verdict.BAD_NO_DATA) for v in recent)
    return Fraction(bad, len(recent)) / (1 - slo)


# Google's SRE workbook, multiwindow multi-burn-rate alerts: (long, short) windows in 5-minute windows.
FAST_BURN = (Fraction(144, 10), 12, 1)  # 14.4x over 1 h and 5 min: page
SLOW_BURN = (Fraction(6), 72, 6)  # 6x over 6 h and 30 min: warn


def burning(verdicts: Sequence[Verdict], slo: Fraction, rule: tuple[Fraction, int, int]) -> bool:
    factor, long, short = rule
    return burn_rate(verdicts, long, slo) >= factor and burn_rate(verdicts, short, slo) >= factor


def percent(share: Fraction | None, places: int = 3) -> str:
    return "n/a" if share is None else f"{float(share * 100):.{places}f}"


LETTERS = {Verdict.GOOD: "g", Verdict.BAD: "b", Verdict.BAD_NO_DATA: "n", Verdict.EXCLUDED: "x"}
_VERDICTS = {letter: verdict for verdict, letter in LETTERS.items()}


def encode(verdicts: Sequence[Verdict]) -> str:
    """One letter per window: how a month of verdicts travels in an effect (8,928 letters)."""
    return "".join(LETTERS[v] for v in verdicts)


def decode(letters: str) -> tuple[Verdict, ...]:
    return tuple(_VERDICTS[letter] for letter in letters)

"""The SLA chart: daily availability against the targets, and the error budget's burn-down over the month.
matplotlib is imported here only, when a chart is drawn (it costs ~40 MB and half a second)."""

from __future__ import annotations

import io
from datetime import timedelta

from bot.core.sla import WINDOW_MINUTES, Verdict
from bot.core.sla_report import SlaReport

COLOURS = ["#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]


def render_png(report: SlaReport) -> bytes:
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 6.5), dpi=100, layout="constrained")
    availability, budget = figure.subplots(2, 1, sharex=True)
    month_days = report.month.span.windows // 288
    first = report.month.start
    lowest = 99.0
    for index, compliance in enumerate(report.services[:len(COLOURS)]):
        colour = COLOURS[index]
        days = [(day, float(share * 100)) for day, share in compliance.daily() if share is not None]
        if days:
            lowest = min(lowest, min(value for _, value in days))
            availability.plot([d + timedelta(hours=12) for d, _ in days], [v for _, v in days], marker="o",
                              markersize=3, color=colour, label=compliance.service)
        # The SLO's budget for the whole month (maintenance excluded), spent as bad windows close.
        excluded = compliance.count(Verdict.EXCLUDED)
        allowed = float((1 - report.slo) * (report.month.span.windows - excluded) * WINDOW_MINUTES)
        spent, xs, ys = 0, [first], [allowed]
        for position, verdict in enumerate(compliance.verdicts):
            if verdict in (Verdict.BAD, Verdict.BAD_NO_DATA):
                spent += WINDOW_MINUTES
                xs.append(compliance.span.window_start(position + 1))
                ys.append(allowed - spent)
        xs.append(compliance.span.end)
        ys.append(allowed - spent)
        budget.step(xs, ys, where="post", color=colour)
    for name, target, style in (("SLO", report.slo, ":"), ("Enterprise", 0.999, "--"), ("Pro", 0.995, "-.")):
        availability.axhline(float(target) * 100, color="#555555", linestyle=style, linewidth=1,
                             label=f"{name} {float(target) * 100:g} %")
    availability.set_ylim(max(0.0, min(lowest, 99.4) - 0.1), 100.05)
    availability.set_ylabel("availability per day (%)")
    availability.set_title(f"SLA {report.month}{'' if report.complete else ' to date'}")
    availability.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")  # beside: dips stay visible
    availability.grid(alpha=0.3)
    budget.axhline(0, color="#d62728", linewidth=1)
    budget.set_ylabel(f"SLO error budget left (min)\nSLO {float(report.slo) * 100:g} %")
    budget.set_xlim(first, first + timedelta(days=month_days))
    budget.xaxis.set_major_formatter(DateFormatter("%d"))
    budget.set_xlabel(f"day of {report.month} (UTC)")
    budget.grid(alpha=0.3)
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": "warroom"})
    return out.getvalue()

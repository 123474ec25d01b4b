"""What the SLA watch writes: the finance notice of a breach, the customers' notification draft, the monthly
report. Every name that came from a person or config.yaml is escaped for Slack."""

from __future__ import annotations

from bot.core.incident import Incident
from bot.core.sla import Compliance, Month, percent
from bot.core.sla_credits import TARGETS, CustomerCredit, Tier
from bot.core.sla_report import SlaReport
from bot.core.text import escape


def _duration(minutes: float) -> str:
    minutes = int(minutes)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def breach_notice(service: str, tier: Tier, month: Compliance, owed_now: int, owed_if_clean: int,
                  customers: list[CustomerCredit]) -> str:
    target = percent(TARGETS[tier], 1)
    lines = [f":money_with_wings: *Potential SLA credit*: {escape(service)} is at {percent(month.availability)} % "
             f"this month so far, below the {tier.value.capitalize()} SLA of {target} % "
             f"({month.downtime_minutes} min down in {month.eligible} windows).",
             f"Credit at today's figure: {owed_now} % of the monthly bill; "
             + (f"still {owed_if_clean} % if the rest of the month is clean." if owed_if_clean
                else "none if the rest of the month is clean.")]
    owed = [c for c in customers if c.percent]
    for customer in owed[:20]:
        lines.append(f"• {escape(customer.customer.name)}: {customer.percent} % = {customer.amount} "
                     f"{customer.customer.currency}")
    if len(owed) > 20:
        lines.append(f"…and {len(owed) - 20} more customers (`warroom sla report` lists all).")
    if not customers:
        lines.append(f"No customer in sla.customers has the {tier.value} tier for this service.")
    return "\n".join(lines)


def customer_draft(service: str, tier: Tier, month: Compliance, owed: int) -> str:
    periods = month.bad_periods()
    first, last = periods[0].start if periods else month.span.start, periods[-1].end if periods else month.span.end
    name = Month.of(month.span.start)
    lines = [f"Subject: {escape(service)} service levels in {name}",
             f"Between {first:%d %b %H:%M} and {last:%d %b %H:%M} UTC, {escape(service)} was degraded or "
             f"unavailable for {_duration(month.downtime_minutes)} in all. Its availability this month so far is "
             f"{percent(month.availability, 2)} %, below our {tier.value.capitalize()} commitment of "
             f"{percent(TARGETS[tier], 1)} %. We are sorry for the disruption.",
             (f"Under your agreement you are eligible for a service credit of {owed} % of your monthly fee, which "
              f"we will apply to your next invoice." if owed else
              "We will confirm any service credit with your invoice."),
             "A post-mortem with the root cause and what we are changing will follow."]
    return "\n".join(f"> {line}" for line in lines)


def monthly_text(report: SlaReport, trend: list[tuple[Month, dict[str, float | None]]],
                 incidents: list[tuple[Incident, str]]) -> str:
    data = report.as_dict()
    lines = [f"*SLA report for {data['month']}* (SLO {data['slo_pct']} %, Pro 99.5 %, Enterprise 99.9 %)"]
    uptime = ", ".join(f"{escape(name)} {percent_text(s['availability_pct'])}" for name, s in data["services"].items())
    lines.append(f"*Uptime*: {uptime}")
    total = sum(int(((i.resolved_at or report.until) - i.declared_at).total_seconds() // 60) for i, _ in incidents)
    lines.append(f"*Incidents*: {len(incidents)}, {_duration(total)} in all")
    for incident, cause in incidents[:10]:
        lasted = int(((incident.resolved_at or report.until) - incident.declared_at).total_seconds() // 60)
        lines.append(f"• {incident.reference} {incident.severity.label} “{escape(incident.title[:150])}”, "
                     f"{_duration(lasted)}" + (f": {escape(cause)}" if cause else ""))
    if len(incidents) > 10:
        lines.append(f"…and {len(incidents) - 10} more.")
    lines.append("*SLO vs SLA*:")
    for name, service in data["services"].items():
        budget = service["error_budget"]["slo"]
        meets = [tier for tier in ("enterprise", "pro")
                 if service["availability_pct"] is not None
                 and service["availability_pct"] >= service["error_budget"][tier]["target_pct"]]
        sla = f"meets {meets[0].capitalize()}" if meets else "*below every SLA*"
        slo = "meets the SLO" if budget["remaining_minutes"] >= 0 else "*misses the SLO*"
        left = "n/a" if budget["remaining_pct"] is None else f"{budget['remaining_pct']:.0f} %"
        lines.append(f"• {escape(name)}: {slo}, {sla}; error budget left {budget['remaining_minutes']} min ({left})")
    owed = [c for c in data["customers"] if c["credit_pct"]]
    lines.append("*Credits owed*: " + ("none" if not owed else "; ".join(
        f"{escape(c['name'])} {c['credit_pct']} % = {c['credit_amount']} {c['currency']}" for c in owed[:20])))
    if trend:
        lines.append("*Trend* (" + " → ".join(str(m) for m, _ in trend) + f" → {data['month']}):")
        for name, service in data["services"].items():
            figures = [percent_text(past.get(name)) for _, past in trend] + [percent_text(service["availability_pct"])]
            lines.append(f"• {escape(name)}: " + " → ".join(figures))
    return "\n".join(lines)


def percent_text(value: float | None) -> str:
    return "no data" if value is None else f"{value:.3f} %"

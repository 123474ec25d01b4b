"""Block Kit for `/sla`, the monthly report and the maintenance list."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.core.sla import Maintenance
from bot.core.sla_report import SlaReport
from bot.slack.blocks.incidents import SECTION_LIMIT, Blocks, render
from bot.slack.text import safe, slack_date, truncate

SHOWN_SERVICES = 20  # 2-3 blocks each, within a message's 50


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.3f} %"


def _mark(service: dict, slo: float) -> str:
    availability = service["availability_pct"]
    if availability is None:
        return ":grey_question:"
    if availability >= slo:
        return ":large_green_circle:"
    return ":large_yellow_circle:" if availability >= 99.9 else ":red_circle:"


def summary(report: SlaReport) -> str:
    data = report.as_dict()
    parts = [f"{name} {_pct(s['availability_pct'])}" for name, s in data["services"].items()]
    return f"SLA {data['month']}{'' if data['complete'] else ' to date'}: " + ", ".join(parts)


def report_blocks(report: SlaReport, *, title: str | None = None) -> tuple[str, Blocks]:
    data = report.as_dict()
    so_far = "" if data["complete"] else f" (to date, until {slack_date(report.until)})"
    blocks: list = [HeaderBlock(text=truncate(title or f"SLA {data['month']}{'' if data['complete'] else ' to date'}",
                                              150)),
                    ContextBlock(elements=[MarkdownTextObject(
                        text=f"Good 5-minute windows (errors below 5 %) over the windows counted{so_far}. "
                             f"SLO {data['slo_pct']} %, Pro 99.5 %, Enterprise 99.9 %.")])]
    services = list(data["services"].items())
    for name, service in services[:SHOWN_SERVICES]:
        windows, budget, credits = service["windows"], service["error_budget"], service["credits"]
        left = budget["slo"]["remaining_minutes"]
        lines = [f"{_mark(service, data['slo_pct'])} *{safe(name, 80)}*: {_pct(service['availability_pct'])} "
                 f"available, {service['downtime_minutes']} min down",
                 f"Error budget (SLO): {budget['slo']['consumed_minutes']} of {budget['slo']['allowed_minutes']} min "
                 f"used, {'*overspent* by ' + str(-left) if left < 0 else str(left)} min"
                 f"{' left' if left >= 0 else ''}",
                 f"Windows: {windows['good']} good, {windows['bad']} bad, {windows['bad_no_data']} without data, "
                 f"{windows['excluded']} in maintenance",
                 f"Credits owed if the tier applies: Pro {credits['pro_pct']} %, Enterprise {credits['enterprise_pct']} %"]
        if windows["total"] and windows["bad_no_data"] + windows["excluded"] == windows["total"]:
            lines.append(f":warning: Not one sample: check the selector in `sla.services.{safe(name, 80)}`.")
        for period in service["bad_periods"][-3:]:
            lines.append(f"• bad {period['start'][:16].replace('T', ' ')}–{period['end'][11:16]} UTC "
                         f"({period['minutes']} min)")
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), SECTION_LIMIT))))
    if len(services) > SHOWN_SERVICES:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"…and {len(services) - SHOWN_SERVICES} more services: `warroom sla report` lists all.")]))
    owed = [c for c in data["customers"] if c["credit_pct"]]
    if data["customers"]:
        blocks.append(DividerBlock())
        body = "\n".join(f"• {safe(c['name'], 100)} ({c['tier']}): {c['credit_pct']} % = {c['credit_amount']} "
                         f"{c['currency']}" for c in owed[:30]) or "No credits owed."
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(f"*Credits owed*\n{body}", SECTION_LIMIT))))
    return summary(report), render(blocks)


def maintenance_blocks(windows: list[Maintenance]) -> tuple[str, Blocks]:
    if not windows:
        text = ("No scheduled maintenance. Announce some with `/sla maintenance <service> <start> <end>` (UTC, e.g. "
                "`/sla maintenance api 2026-12-05T02:00 2026-12-05T03:00`); 72 hours ahead keeps it out of the SLA.")
        return text, render([SectionBlock(text=MarkdownTextObject(text=text))])
    lines = []
    for window in windows[:40]:
        counted = ("excluded from the SLA" if window.excluded
                   else "*counts against the SLA* (announced less than 72 hours ahead)")
        by = "config.yaml" if window.by == "config.yaml" else f"<@{window.by}>"
        lines.append(f"• *{safe(window.service, 80)}* {slack_date(window.start)} → {slack_date(window.end)}: "
                     f"{counted}; announced {slack_date(window.announced)} by {by}")
    text = "Scheduled maintenance"
    return text, render([SectionBlock(text=MarkdownTextObject(text=truncate(f"*{text}*\n" + "\n".join(lines),
                                                                            SECTION_LIMIT)))])

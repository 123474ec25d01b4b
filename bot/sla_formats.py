"""The SLA report as people read it (text), as spreadsheets take it (CSV), and as programs take it (JSON)."""

from __future__ import annotations

import csv
import io
import json

from bot.core.sla_report import SlaReport

CSV_COLUMNS = ["service", "month", "complete", "windows_total", "windows_good", "windows_bad", "windows_bad_no_data",
               "windows_excluded", "availability_pct", "downtime_minutes", "slo_remaining_minutes",
               "pro_remaining_minutes", "enterprise_remaining_minutes", "pro_credit_pct", "enterprise_credit_pct"]


def as_json(report: SlaReport) -> str:
    return json.dumps(report.as_dict(), indent=2) + "\n"


def as_csv(report: SlaReport) -> str:
    """One row per service (customers' credits are in the JSON and the text)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    data = report.as_dict()
    for name, service in data["services"].items():
        windows, budget = service["windows"], service["error_budget"]
        writer.writerow([name, data["month"], data["complete"], windows["total"], windows["good"], windows["bad"],
                         windows["bad_no_data"], windows["excluded"], _blank(service["availability_pct"]),
                         service["downtime_minutes"], budget["slo"]["remaining_minutes"],
                         budget["pro"]["remaining_minutes"], budget["enterprise"]["remaining_minutes"],
                         service["credits"]["pro_pct"], service["credits"]["enterprise_pct"]])
    return out.getvalue()


def _blank(value) -> str:
    return "" if value is None else str(value)


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.3f} %"


def as_text(report: SlaReport) -> str:
    data = report.as_dict()
    so_far = "" if data["complete"] else f" (to date, until {data['until'][:16].replace('T', ' ')} UTC)"
    lines = [f"SLA report {data['month']}{so_far}",
             f"Good 5-minute windows (errors below 5 %) / all windows counted; SLO {data['slo_pct']} %, "
             "Pro 99.5 %, Enterprise 99.9 %.", ""]
    for name, service in data["services"].items():
        windows = service["windows"]
        lines.append(f"{name}: {_pct(service['availability_pct'])} available, {service['downtime_minutes']} min down")
        lines.append(f"  windows: {windows['good']} good, {windows['bad']} bad, {windows['bad_no_data']} without "
                     f"data, {windows['excluded']} in maintenance (of {windows['total']})")
        for target, budget in service["error_budget"].items():
            left = budget["remaining_pct"]
            left = "n/a" if left is None else f"{left:.1f} %"
            lines.append(f"  error budget {target} ({budget['target_pct']} %): {budget['consumed_minutes']} of "
                         f"{budget['allowed_minutes']} min used, {budget['remaining_minutes']} min left ({left})")
        if windows["total"] and windows["bad_no_data"] + windows["excluded"] == windows["total"]:
            lines.append(f"  warning: not one sample: check the selector in sla.services.{name}")
        credits = service["credits"]
        lines.append(f"  credits: Pro {credits['pro_pct']} %, Enterprise {credits['enterprise_pct']} %")
        for period in service["bad_periods"][:20]:
            cause = "no data" if period["no_data_minutes"] == period["minutes"] else "failures"
            lines.append(f"  bad {period['start'][:16].replace('T', ' ')} – {period['end'][11:16]} UTC "
                         f"({period['minutes']} min, {cause})")
        if len(service["bad_periods"]) > 20:
            lines.append(f"  …and {len(service['bad_periods']) - 20} more bad periods (--format json lists all)")
        lines.append("")
    if data["customers"]:
        lines.append("Credits owed:")
        for owed in data["customers"]:
            because = f" ({owed['service']})" if owed["service"] else ""
            lines.append(f"  {owed['name']} ({owed['tier']}): {owed['credit_pct']} % = {owed['credit_amount']} "
                         f"{owed['currency']}{because}")
    return "\n".join(lines).rstrip() + "\n"


FORMATS = {"text": as_text, "json": as_json, "csv": as_csv}

"""What automated remediation says where people look: what ran, why (the alert), the result, and when warroom
checks again and whom it will page. Label values come from alerts, so they are escaped like any outside text."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from bot.config_remediation import PolicySection
from bot.core.remediation import Outcome
from bot.core.text import escape
from bot.storage.remediation import RemediationRun


def _date(moment: datetime) -> str:
    return f"<!date^{int(moment.timestamp())}^{{time}}|{moment:%H:%M} UTC>"


def _code(text: str, limit: int = 300) -> str:
    return "`" + escape(text.replace("`", "'"))[:limit] + "`"


def about(run: RemediationRun) -> str:
    """"DiskUsage80 on instance=db-1:9100": the alert and the target the policy counts it by."""
    target = "" if run.target == "*" else f" on {_code(run.target, 200)}"
    return f"*{escape(run.alertname)[:200]}*{target}"


def action(run: RemediationRun, policy: PolicySection | None) -> str:
    if run.kind == "http":
        url = run.request.get("url", "")
        host = urlsplit(url).netloc
        return f"POST {_code(host + urlsplit(url).path, 200)}"
    if run.kind == "command":
        name = policy.run.command if policy and policy.run else "the command"
        return _code(name, 150) + (f" ({_code(' '.join(run.request.get('argv', [])), 400)})"
                                   if run.request.get("argv") else "")
    return "nothing (record only)"


def who_is_paged(policy: PolicySection, default: tuple[str, ...]) -> str:
    slots = policy.escalate.page if policy.escalate.page is not None else list(default)
    return ", ".join(f"@{slot}" for slot in slots) or "nobody (no on-call slot)"


def next_check(run: RemediationRun, policy: PolicySection, paged: str) -> str:
    """"warroom checks again at 14:35 and pages @primary if DiskUsage80 is still firing or DiskUsage90 fires"."""
    conditions = []
    if run.verify_at:
        conditions.append(f"at {_date(run.verify_at)} pages {paged} if {escape(run.alertname)} is still firing")
    if run.watch_until and policy.escalate.follow_up:
        follow = " or ".join(alert_named(m) for m in policy.escalate.follow_up_matchers())
        conditions.append(f"pages {paged} if {follow} fires about it before {_date(run.watch_until)}")
    if not conditions:
        return "Nothing more is checked."
    return "warroom " + "; it ".join(conditions) + "."


def alert_named(matcher) -> str:
    """`alertname="DiskUsage90"` reads as DiskUsage90; any other matcher as written."""
    if matcher.name == "alertname" and matcher.op == "=":
        return escape(matcher.value)
    return _code(f'{matcher.name}{matcher.op}"{matcher.value}"', 200)


def result(run: RemediationRun) -> str:
    if run.outcome is Outcome.SUCCEEDED:
        return "succeeded" + (f" (HTTP {run.http_status})" if run.http_status else " (exit code 0)")
    if run.outcome is Outcome.TIMED_OUT:
        return "*timed out*"
    if run.outcome is Outcome.INTERRUPTED:
        return "*was interrupted* (warroom stopped while it ran; its outcome is unknown)"
    if run.http_status is not None:
        return f"*failed* (HTTP {run.http_status})"
    return f"*failed* (exit code {run.exit_code})" if run.exit_code is not None else "*failed*"


def output_block(run: RemediationRun, limit: int = 1500) -> str:
    text = run.output.strip()
    if not text:
        return ""
    return "\n```" + escape(text.replace("```", "'''"))[-limit:] + "```"


def finished(run: RemediationRun, policy: PolicySection, paged: str) -> str:
    head = (f":robot_face: Automation ran {action(run, policy)} for {about(run)} (policy {_code(run.policy, 64)}): "
            f"{result(run)}.")
    if run.outcome is Outcome.SUCCEEDED:
        return f"{head} {next_check(run, policy, paged)}{output_block(run)}"
    return f"{head} Paging {paged} now.{output_block(run)}"


def decided(run: RemediationRun, policy: PolicySection, paged: str, *, dry_run: bool = False) -> str:
    """A decision that ran nothing: recorded, a dry run, paused, held by a limit, refused."""
    name = _code(run.policy, 64)
    paging = f"Dry run: would page {paged}." if dry_run else f"Paging {paged}."
    if run.outcome is Outcome.RECORDED:
        return (f":memo: {about(run)} fired; policy {name} records it and leaves it to heal "
                f"(record only). {next_check(run, policy, paged)}")
    if run.outcome is Outcome.DRY_RUN:
        return (f":test_tube: Dry run: policy {name} would run {action(run, policy)} for {about(run)}. Nothing "
                f"ran (remediation.dry_run). {next_check(run, policy, paged).replace('pages', 'would page')}")
    if run.outcome is Outcome.PAUSED:
        return (f":double_vertical_bar: Automation is paused: policy {name} did not run {action(run, policy)} for "
                f"{about(run)}.")
    if run.outcome is Outcome.LIMITED:
        return (f":no_entry: Policy {name} did not run {action(run, policy)} for {about(run)}: {escape(run.reason)}. "
                f"{paging}")
    return (f":no_entry: Policy {name} refused to run for {about(run)}: {escape(run.reason)}. Nothing ran. "
            f"{paging}")


def fixed(run: RemediationRun, policy: PolicySection | None) -> str:
    what = "record" if run.kind == "record" else ("dry run" if run.outcome is Outcome.DRY_RUN else "action")
    return (f":white_check_mark: {about(run)} resolved after policy {_code(run.policy, 64)}'s {what}: nobody was "
            f"paged.")


def would_page(run: RemediationRun, why: str, paged: str) -> str:
    return f":test_tube: Dry run: {about(run)}: {escape(why)}; warroom would page {paged} now. Nobody was paged."


def escalated(run: RemediationRun, why: str, users: list[str], nobody: list[str], already: tuple[str, ...] = ()) -> str:
    who = ", ".join(f"<@{user}>" for user in users) or "nobody"
    missing = f" (no one on call for {', '.join(nobody)})" if nobody else ""
    before = f"; {', '.join('@' + slot for slot in already)} had been paged for this incident already" if already \
        else ""
    return f":pager: Automation did not fix {about(run)}: {escape(why)}. Paged {who}{missing}{before}."


def status(section, policies: list[PolicySection], switch, recent: list[RemediationRun]) -> str:
    """`/incident automation`: the switches, the policies, the last decisions."""
    if not section.enabled:
        state = "*off* (remediation.enabled is false): no policy acts"
    elif switch.paused:
        state = (f"*paused* by <@{switch.actor}> at {_date(switch.at)}" + (f": {escape(switch.why)}" if switch.why
                                                                            else ""))
    else:
        state = "*on*" + (" in *dry run* (records what would run, runs nothing)" if section.dry_run else "")
    lines = [f":robot_face: Automated remediation is {state}."]
    if policies:
        lines.append("*Policies*")
        for policy in policies:
            what = {"record": "record only", "command": f"runs {_code(policy.run.command if policy.run else '')}",
                    "http": "POSTs to " + _code(urlsplit(policy.http.url).netloc if policy.http else "")}[policy.kind]
            lines.append(f"• {_code(policy.name, 64)}: {escape(', '.join(policy.matchers))[:300]} → {what}")
    else:
        lines.append("No policy is configured (config.yaml, `remediation.policies`).")
    if recent:
        lines.append("*Last decisions*")
        lines += [f"• {_date(run.decided_at)} {_code(run.policy, 64)} {about(run)}: {run.outcome.value.replace('_', ' ')}"
                  + (f" → {run.verification.replace('_', ' ')}" if run.verification else "")
                  + (" → paged" if run.escalated_at else "") for run in recent]
    lines.append("`/incident automation pause <why>` stops every automatic action at once; `resume` starts them again.")
    return "\n".join(lines)

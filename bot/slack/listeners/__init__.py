"""Every way Slack reaches warroom, by surface: slash commands, the card's buttons, runbook buttons, alert
buttons, modal submissions, events. Listeners are module-level functions; `register` is the one place that binds them to
Slack's ids, and puts the services in each request's context (`handling.deps_of`)."""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.slack.ids import ActionId, CallbackId
from bot.slack.listeners import (
    alerts,
    buttons,
    commands,
    events,
    modals,
    runbooks,
    sla,
    status_page,
)
from bot.slack.listeners.handling import SlackDeps


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def with_services(context: AsyncBoltContext, next) -> None:
        context["deps"] = deps
        await next()
    app.middleware(with_services)

    app.command("/incident")(commands.incident)
    app.command("/postmortem")(commands.postmortem)
    app.command("/oncall")(commands.oncall)
    app.command("/sla")(sla.sla)

    app.action(ActionId.ACTION_ITEM_DONE)(buttons.action_item_done)
    app.action(ActionId.PAGE_ACK)(buttons.page_acknowledged)
    app.action(ActionId.SNOOZE_REMINDER)(buttons.snooze_clicked)
    app.action(ActionId.SEVERITY_SELECT)(buttons.severity_selected)
    app.action(ActionId.ASSIGN_ROLE)(buttons.assign_role_clicked)
    app.action(ActionId.POST_UPDATE)(buttons.post_update_clicked)
    app.action(ActionId.RESOLVE)(buttons.resolve_clicked)
    app.action(ActionId.STATUS_PAGE)(status_page.status_page_clicked)
    app.action(ActionId.STILL_INVESTIGATING)(status_page.still_investigating)

    app.action(ActionId.RUNBOOK_PICK)(runbooks.picked)
    app.action(ActionId.RUNBOOK_DONE)(runbooks.done)
    app.action(ActionId.RUNBOOK_SKIP)(runbooks.skip)
    app.action(ActionId.RUNBOOK_NOTE)(runbooks.note)
    app.action(re.compile(f"^{ActionId.RUNBOOK_BRANCH_PREFIX}\\d+$"))(runbooks.branch)
    app.action(re.compile(f"^{ActionId.RUNBOOK_CHECK_PREFIX}\\d+$"))(runbooks.checked)
    app.action(re.compile(f"^{ActionId.RUNBOOK_RUN_PREFIX}\\d+$"))(runbooks.run_command)
    app.action(ActionId.RUNBOOK_APPROVE)(runbooks.approve)

    app.action(ActionId.ALERT_DECLARE)(alerts.declare)
    app.action(ActionId.ALERT_ACKNOWLEDGE)(alerts.acknowledge)
    app.action(ActionId.ALERT_SILENCE)(alerts.silence)
    app.action(ActionId.ALERT_EXPIRE_SILENCE)(alerts.expire_silence)
    app.action(ActionId.ALERT_RUNBOOK)(alerts.start_runbook)
    app.action(re.compile(f"^{ActionId.ALERT_LINK_PREFIX}\\d+$"))(alerts.link_opened)

    app.view(CallbackId.DECLARE_MODAL)(modals.declare_submitted)
    app.view(CallbackId.ROLE_MODAL)(modals.role_submitted)
    app.view(CallbackId.UPDATE_MODAL)(modals.update_submitted)
    app.view(CallbackId.RESOLVE_MODAL)(modals.resolve_submitted)
    app.view(CallbackId.STATUS_PAGE_MODAL)(status_page.status_page_submitted)
    app.view(CallbackId.RUNBOOK_NOTE_MODAL)(runbooks.note_submitted)

    app.event("member_joined_channel")(events.member_joined)
    app.event("member_left_channel")(events.member_left)
    app.event("reaction_added")(events.reaction_added)
    app.event("pin_added")(events.pin_added)

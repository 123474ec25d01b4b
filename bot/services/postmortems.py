"""Post-mortems: drafted from the war room's history and the timeline, rendered from
templates/postmortem.md.j2 (a team's own template wins), stored once per incident and updated in place.

The process: severities that require one get a post-mortem due 48 hours after the resolve; the IC is
reminded to draft on day 1, review on day 2 and publish on day 3; draft -> in review -> published.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import jinja2

from bot.config import Settings
from bot.core import blameless, postmortem
from bot.core import effects as fx
from bot.core import postmortem_facts as pm_facts
from bot.core.incident import DomainError, Event, Incident, format_duration
from bot.core.ports import SLACK_FAILURES, Clock, Dispatch
from bot.core.postmortem import HistoryMessage, Postmortem, PostmortemState
from bot.core.severity import DEFAULT_POLICIES, SeverityPolicy
from bot.core.text import MENTION, escape, escape_markdown, slack_to_plain
from bot.services.authorization import Authorizer
from bot.services.unit_of_work import UnitOfWork
from bot.storage.repository import Store, Transaction
from bot.storage.timers import Fired, Timer

BUILT_IN = Path(__file__).resolve().parent.parent / "templates"
REMINDER = "postmortem_reminder"


class ChatHistory(Protocol):
    async def messages(self, channel: str) -> list[HistoryMessage]: ...

    async def names(self, users: set[str]) -> dict[str, str]: ...

    async def edited_by_hand(self, canvas_id: str) -> bool: ...




def render(incident: Incident, timeline, conversation_rows, runs, flags, names: dict[str, str],
           template_dir: Path = Path("templates"), action_items: list | None = None,
           slo_impact: dict[str, int] | None = None, *, policy: SeverityPolicy | None = None,
           now: datetime | None = None, reviewers: list[str] | tuple = (),
           first_message_at: datetime | None = None, suggested_runbooks: list[str] | tuple = (),
           slack_retried: int = 0, status_page: str | None = None) -> str:
    def name_of(user: str | None) -> str:
        return names.get(user, user) if user else "—"

    def markdown_text(value) -> str:
        # People's text (titles, updates, messages, names) shows as typed: mentions become names, then
        # nothing in it can render as a link, an image or a heading.
        return escape_markdown(slack_to_plain(MENTION.sub(lambda m: "@" + name_of(m.group(1)), str(value))))

    policy = policy or DEFAULT_POLICIES[incident.severity]
    now = now or incident.resolved_at or incident.declared_at
    found = postmortem.facts(incident, timeline, name_of)
    moments = pm_facts.key_moments(incident, timeline, first_message_at)
    rows = [{**row, "moments": marks} for row, marks in zip(found.timeline, pm_facts.marked(moments, timeline))]
    windows = pm_facts.due_windows(incident.resolved_at or now)
    items = [{**item, "late": bool(item["due"]) and item["priority"] in windows and not item["done"]
              and item["due"] > windows[item["priority"]]} for item in (action_items or [])]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(template_dir), str(BUILT_IN)]),
                             undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True)
    env.filters["md"] = markdown_text
    try:
        text = env.get_template("postmortem.md.j2").render(
            incident=found.incident, durations=found.durations, timeline=rows, name=name_of,
            responders=[name_of(u) for u in incident.responders], participants=found.participants,
            severity_changes=found.severity_changes, updates=found.updates, conversation=conversation_rows,
            runbooks=runs, flags=flags, action_items=items, slo_impact=slo_impact, moments=moments,
            measured=pm_facts.measured(incident, timeline, policy, now, suggested_runbooks, slack_retried),
            windows=windows,
            duration=format_duration(pm_facts.duration(incident, moments, now)), since=pm_facts.start_phrase(moments),
            summary=pm_facts.summary(incident, policy, moments, now, markdown_text),
            root_seeds=pm_facts.root_cause_seeds(timeline, name_of),
            reviewers=[name_of(r) if not r.startswith("@") else r for r in reviewers], status_page=status_page)
    except jinja2.TemplateSyntaxError as exc:
        raise DomainError(f"Post-mortem template error: {exc.filename or exc.name}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise DomainError(f"Post-mortem template error: {exc}") from None
    return MENTION.sub(lambda m: "@" + name_of(m.group(1)), text)


class PostmortemService:
    def __init__(self, store: Store, settings: Settings, clock: Clock, history: ChatHistory | None = None,
                 dispatch: Dispatch | None = None, template_dir: Path = Path("templates"),
                 auth: Authorizer | None = None, slo_impact=None, suggest=None):
        self.store, self.settings, self.clock, self.history = store, settings, clock, history
        self.auth = auth
        # `async (incident) -> {service: minutes} | None`: the error budget it consumed (bot/services/sla.py)
        self.slo_impact = slo_impact
        self.suggest = suggest  # (incident) -> the runbooks that match it (bot/services/runbooks.py)
        self.work = UnitOfWork(store, dispatch)
        self.template_dir = template_dir

    async def incident(self, incident_id: int) -> Incident | None:
        async with self.store.reading() as tx:
            return await tx.incidents.get(incident_id)

    async def find_incident(self, channel_id: str, reference: str) -> Incident:
        async with self.store.reading() as tx:
            if reference:
                number = reference.upper().removeprefix("INC-").removeprefix("#")
                if not number.isdigit():
                    raise DomainError(f"`{escape(reference[:30])}` is not an incident: use its number, e.g. INC-12.")
                incident = await tx.incidents.get(int(number))
            else:
                incident = await tx.incidents.in_channel(channel_id)
        if incident is None:
            raise DomainError("No such incident. In a war room, `/postmortem` drafts that incident's post-mortem; "
                              "elsewhere give its number: `/postmortem INC-12`.")
        return incident

    async def draft(self, incident: Incident, actor: str) -> Postmortem:
        """Drafts, or drafts again. A published post-mortem is never replaced: drafting again starts a new
        version with a canvas of its own, and the published one, with everyone's edits, stays as it is."""
        if self.auth:
            await self.auth.in_room(incident, actor, "draft the post-mortem of")
        messages = await self.history.messages(incident.channel_id) if self.history and incident.channel_id else []
        async with self.store.reading() as tx:
            timeline = await tx.timeline.of(incident.id)
            runs = await tx.runs.for_incident(incident.id)
            items = await tx.action_items.of_incident(incident.id)
            slack_retried = await tx.outbox.retried(incident.id, fx.SLACK, SLACK_FAILURES)
        users = {m.author for m in messages} | {e.actor for e in timeline} | set(incident.responders) | {
            i.owner for i in items if i.owner} | {
            u for u in (incident.declared_by, incident.commander, incident.communicator) if u}
        users |= set(MENTION.findall(" ".join(e.text for e in timeline)))
        reviewers = self.settings.file.postmortem.reviewers
        users |= {r for r in reviewers if not r.startswith("@")}
        names = await self.history.names(users) if self.history else {}
        rows = postmortem.conversation(messages, lambda u: names.get(u, u))
        human_text = "\n".join([r["text"] for r in rows] + [e.text for e in timeline if e.kind in ("note", "message")])
        flags = [{"sentence": f.sentence, "person": f.person, "suggestion": f.suggestion}
                 for f in blameless.check(MENTION.sub(lambda m: "@" + names.get(m.group(1),
                                                                                              m.group(1)), human_text))]
        run_rows = [{"title": r.runbook.title, "done": r.counts()["done"], "skipped": r.counts()["skipped"],
                     "total": len(r.steps), "finished": r.finished} for r in runs]
        action_rows = [{"priority": i.priority, "text": i.text, "owner": names.get(i.owner, i.owner) if i.owner else "",
                        "due": i.due.isoformat() if i.due else "", "done": i.done_at is not None} for i in items]
        impact = await self.slo_impact(incident) if self.slo_impact else None
        policy = self.settings.policy(incident.severity)
        now = self.clock.now()
        spoke = [m.at for m in messages if m.at >= incident.declared_at]
        content = render(incident, timeline, rows, run_rows, flags, names, self.template_dir, action_rows, impact,
                         policy=policy, now=now, reviewers=reviewers, first_message_at=min(spoke, default=None),
                         suggested_runbooks=[r.title for r in self.suggest(incident)] if self.suggest else [],
                         slack_retried=slack_retried, status_page=self.settings.file.status_page.public_url)
        async with self.store.reading() as tx:
            stored = await tx.postmortems.get(incident.id)
        # Asked before the transaction (it is a Slack call): has anybody edited the canvas since warroom wrote it?
        edited = bool(stored and stored.canvas_id and self.history
                      and await self.history.edited_by_hand(stored.canvas_id))
        async with self.work() as tx:
            existing = await tx.postmortems.get(incident.id)
            if existing is None:
                await tx.postmortems.add(incident.id, content, flags, now,
                                         postmortem.due(incident, policy.postmortem_required))
                text = "Post-mortem drafted"
            elif (again := postmortem.redraft(existing, edited and existing.canvas_id == stored.canvas_id)
                  ).new_version:
                await tx.postmortems.update(incident.id, now, content=content, flags=flags,
                                            state=PostmortemState.DRAFT, version=again.version, canvas_id=None,
                                            file_id=None)
                text = (f"Post-mortem version {again.version} drafted; the published version {existing.version} "
                        f"stays as it is" if again.because == "published" else
                        f"Post-mortem version {again.version} drafted beside version {existing.version}, which "
                        f"was edited by hand and stays as it is: carry over what you need")
            else:
                await tx.postmortems.update(incident.id, now, content=content, flags=flags)
                text = "Post-mortem draft updated"
            await tx.timeline.append(incident.id, [Event("postmortem", actor, now, text)])
            await tx.outbox.enqueue(incident.id, [[fx.PublishPostmortem(actor=actor)]], now)
            stored = await tx.postmortems.get(incident.id)
        return stored

    async def text(self, incident_id: int) -> str:
        """The stored draft, or, when there is none yet, one rendered from the timeline alone."""
        async with self.store.reading() as tx:
            incident = await tx.incidents.get(incident_id)
            if incident is None:
                raise DomainError(f"No incident {incident_id}.")
            existing = await tx.postmortems.get(incident_id)
            if existing is not None:
                return existing.content
            timeline = await tx.timeline.of(incident_id)
        return render(incident, timeline, [], [], [], {}, self.template_dir,
                      policy=self.settings.policy(incident.severity), now=self.clock.now(),
                      reviewers=self.settings.file.postmortem.reviewers)

    async def advance(self, incident: Incident, state: PostmortemState, actor: str) -> Postmortem:
        if self.auth:
            await self.auth.in_room(incident, actor, "review or publish the post-mortem of")
            await self.auth.rule(self.settings.file.permissions.rule("postmortem_publish"), "postmortem_publish",
                                 "review or publish the post-mortem of", incident, actor)
        now = self.clock.now()
        async with self.work() as tx:
            existing = await tx.postmortems.get(incident.id)
            if existing is None:
                raise DomainError(f"{incident.reference} has no post-mortem yet: run `/postmortem` first.")
            state = postmortem.advance(existing.state, PostmortemState(state), incident.reference)
            await tx.postmortems.update(incident.id, now, state=state)
            label = state.label
            await tx.timeline.append(incident.id, [Event("postmortem", actor, now, f"Post-mortem {label}")])
            await tx.outbox.enqueue(incident.id, [[fx.PostMessage(template=fx.Template.POSTMORTEM_STATE, state=label,
                                                          actor=actor)]], now)
            stored = await tx.postmortems.get(incident.id)
        return stored

    async def get(self, incident_id: int) -> Postmortem | None:
        async with self.store.reading() as tx:
            return await tx.postmortems.get(incident_id)

    # -- the process -------------------------------------------------------------------------------
    @staticmethod
    async def schedule(tx: Transaction, incident: Incident, required: bool) -> None:
        """On resolve: reminders to the IC on days 1, 2 and 3 (called inside the resolve's transaction)."""
        if not required or incident.resolved_at is None:
            return
        for step, (day, _) in postmortem.REMINDER_STEPS.items():
            await tx.timers.set(f"incident:{incident.id}:postmortem:{step}", REMINDER,
                                incident.resolved_at + timedelta(days=day), incident_id=incident.id,
                                payload={"step": step})

    async def fire(self, tx: Transaction, timer: Timer, now: datetime, prepared=None) -> Fired:
        step = timer.payload.get("step", "draft")
        incident = await tx.incidents.get(timer.incident_id)
        needed = incident is not None and postmortem.reminder_needed(step, await tx.postmortems.get(incident.id))
        if needed:
            await tx.outbox.enqueue(incident.id, [[fx.PostMessage(template=fx.Template.POSTMORTEM_REMINDER,
                                                                  step=step)]], now)
        return Fired(None, fired=needed)

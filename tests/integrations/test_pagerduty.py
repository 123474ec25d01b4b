"""The real `pagerduty` client over HTTPS against the stand-in; every body checked against the OpenAPI specs."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from bot.config import Environment, settings_from_mapping
from bot.core import effects as fx
from bot.core.incident import Incident, Severity
from bot.core.ports import CURRENT_EFFECT, EffectAttempt, RetryLater
from bot.integrations.pagerduty import (
    PagerDutyClients,
    PagerDutyEffects,
    PagerDutyRejected,
    oncall_users,
)
from tests.conftest import (
    ALICE,
    BOB,
    PAGERDUTY_POLICY,
    PAGERDUTY_SERVICE,
    pagerduty_environment,
)

AT = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)
BASE_ENV = Environment(slack_api_url="https://slack.invalid/api/", database_url="sqlite://", http_port=0)


def settings(**pagerduty):
    return settings_from_mapping({"pagerduty": {"service_id": PAGERDUTY_SERVICE,
                                                "escalation_policy_id": PAGERDUTY_POLICY,
                                                "priorities": {"sev1": "PRIO1", "sev2": "PRIO2"},
                                                "users": {ALICE: "PALICE", BOB: "PBOB"}, **pagerduty}})


def incident(**changes) -> Incident:
    base = Incident("Checkout <down>", Severity.SEV1, ALICE, AT, id=12, channel_name="incident-20261127-checkout")
    return replace(base, **changes)


def effects(pagerduty, **section) -> PagerDutyEffects:
    config = settings(**section)
    clients = PagerDutyClients.from_env(pagerduty_environment(BASE_ENV, pagerduty), config)
    return PagerDutyEffects(clients, config)


async def test_declare_creates_one_incident_with_key_policy_urgency_and_priority(pagerduty):
    performer = effects(pagerduty)
    refs = await performer.perform(fx.PagerDutyCreate(), incident())
    created = pagerduty.incidents[refs.pagerduty_id]
    assert refs.pagerduty_url == created["html_url"]
    assert (created["incident_key"], created["urgency"], created["priority"]["id"]) == ("warroom-INC-12", "high", "PRIO1")
    body = pagerduty.requests[0]
    assert body.headers["From"] == "warroom@example.com"
    assert body.body["incident"]["escalation_policy"] == {"id": PAGERDUTY_POLICY, "type": "escalation_policy_reference"}
    details = body.body["incident"]["body"]["details"]  # a string, as PagerDuty's incident creation takes it
    assert isinstance(details, str) and "INC-12" in details
    # A retry whose first answer was lost: PagerDuty refuses the key (2002), warroom finds the one it made.
    again = await performer.perform(fx.PagerDutyCreate(), incident())
    assert again == refs and len(pagerduty.incidents) == 1


async def test_changes_follow_severity_notes_responders_acknowledge_and_resolve(pagerduty):
    performer = effects(pagerduty)
    refs = await performer.perform(fx.PagerDutyCreate(), incident(severity=Severity.SEV3))
    assert pagerduty.incidents[refs.pagerduty_id]["urgency"] == "low"
    mirrored = incident(severity=Severity.SEV2, pagerduty_id=refs.pagerduty_id)
    await performer.perform(fx.PagerDutyUpdate(), mirrored)
    await performer.perform(fx.PagerDutyNote(text="Identified: bad deploy", actor=ALICE), mirrored)
    await performer.perform(fx.PagerDutyResponders(users=(BOB,), actor=ALICE, role_label="Incident Commander"),
                            mirrored)
    await performer.perform(fx.PagerDutyAcknowledge(), mirrored)
    twin = pagerduty.incidents[refs.pagerduty_id]
    assert (twin["urgency"], twin["priority"]["id"], twin["status"]) == ("high", "PRIO2", "acknowledged")
    assert [n["content"] for n in twin["notes"]] == ["[warroom] Identified: bad deploy"]
    request = twin["responder_requests"][0]
    assert request["requester_id"] == "PALICE"
    assert request["responder_request_targets"] == [{"responder_request_target": {"id": "PBOB",
                                                                                  "type": "user_reference"}}]
    await performer.perform(fx.PagerDutyResolve(), mirrored)
    await performer.perform(fx.PagerDutyResolve(), mirrored)  # redelivered: already resolved is done, not an error
    assert twin["status"] == "resolved"


async def test_a_retried_note_is_not_posted_twice(pagerduty):
    performer = effects(pagerduty)
    refs = await performer.perform(fx.PagerDutyCreate(), incident())
    mirrored = incident(pagerduty_id=refs.pagerduty_id)
    await performer.perform(fx.PagerDutyNote(text="Mitigated"), mirrored)
    CURRENT_EFFECT.set(EffectAttempt(effect_id=1, attempt=2))  # the answer was lost: the dispatcher tries again
    await performer.perform(fx.PagerDutyNote(text="Mitigated"), mirrored)
    assert len(pagerduty.incidents[refs.pagerduty_id]["notes"]) == 1


async def test_a_routing_key_triggers_through_the_events_api_with_a_dedup_key(pagerduty):
    performer = effects(pagerduty, routing_key="R0UTINGKEY")
    refs = await performer.perform(fx.PagerDutyCreate(), incident(service="payments-api"))
    event = next(r for r in pagerduty.requests if r.path == "/v2/enqueue")
    assert event.body["routing_key"] == "R0UTINGKEY" and event.body["dedup_key"] == "warroom-INC-12"
    assert event.body["payload"]["severity"] == "critical" and event.body["payload"]["component"] == "payments-api"
    assert pagerduty.incidents[refs.pagerduty_id]["incident_key"] == "warroom-INC-12"
    await performer.perform(fx.PagerDutyResolve(), incident(pagerduty_id=refs.pagerduty_id))
    assert pagerduty.incidents[refs.pagerduty_id]["status"] == "resolved"


@pytest.mark.parametrize("status, retry_after, expected_delay", [(429, 7, 7.0), (503, None, None), (500, None, None)])
async def test_rate_limits_and_server_errors_come_back_as_retry_later_at_once(pagerduty, status, retry_after,
                                                                              expected_delay):
    performer = effects(pagerduty)
    pagerduty.faults.status, pagerduty.faults.retry_after = status, retry_after
    started = time.monotonic()
    with pytest.raises(RetryLater) as error:
        await performer.perform(fx.PagerDutyCreate(), incident())
    assert time.monotonic() - started < 1.0  # the client's own sleeping retries are off
    assert error.value.after_seconds == expected_delay
    assert len(pagerduty.requests) == 1 and not pagerduty.incidents


async def test_an_outage_is_retry_later_without_the_clients_21_second_reconnects(pagerduty):
    performer = effects(pagerduty)
    await pagerduty.go_down()
    started = time.monotonic()
    with pytest.raises(RetryLater, match="no answer"):
        await performer.perform(fx.PagerDutyCreate(), incident())
    assert time.monotonic() - started < 2.0
    await pagerduty.come_back()
    assert (await performer.perform(fx.PagerDutyCreate(), incident())).pagerduty_id


async def test_a_refusal_is_permanent_and_says_why(pagerduty):
    performer = effects(pagerduty)
    with pytest.raises(PagerDutyRejected, match="Not Found"):
        await performer.perform(fx.PagerDutyUpdate(), incident(pagerduty_id="QNOPE"))


async def test_who_is_on_call_comes_from_oncalls_level_one_first(pagerduty):
    pagerduty.oncalls = [
        {"escalation_level": 2, "user": {"id": "PBOB", "type": "user_reference"},
         "schedule": {"id": "PSCHED"}, "escalation_policy": {"id": PAGERDUTY_POLICY}},
        {"escalation_level": 1, "user": {"id": "PALICE", "type": "user_reference"},
         "schedule": {"id": "PSCHED"}, "escalation_policy": {"id": PAGERDUTY_POLICY}},
        {"escalation_level": 1, "user": {"id": "POTHER", "type": "user_reference"},
         "schedule": {"id": "POTHERSCHED"}, "escalation_policy": {"id": "POTHERPOL"}},
    ]
    clients = PagerDutyClients.from_env(pagerduty_environment(BASE_ENV, pagerduty), settings())
    people = await oncall_users(clients.rest, schedule="PSCHED")
    assert [p["id"] for p in people] == ["PALICE", "PBOB"]


async def test_a_slow_pagerduty_times_out_into_retry_later(pagerduty):
    performer = effects(pagerduty)
    performer.rest.timeout = 0.3  # 5 s in production
    pagerduty.faults.delay = 1.0
    started = time.monotonic()
    with pytest.raises(RetryLater, match="Timeout"):
        await performer.perform(fx.PagerDutyCreate(), incident())
    assert time.monotonic() - started < 1.0


async def test_a_rotation_that_names_a_pagerduty_schedule_reads_who_is_on_call_from_it(pagerduty):
    from bot.services.oncall import OnCallService
    from tests.conftest import FakeClock

    config = settings_from_mapping({"oncall": {"primary": [ALICE], "rotations": {"database": {
        "pagerduty_schedule": "PSCHED"}}}, "pagerduty": {"service_id": PAGERDUTY_SERVICE, "users": {BOB: "PBOB"}}})
    pagerduty.oncalls = [{"escalation_level": 1, "user": {"id": "PBOB", "type": "user_reference"},
                          "schedule": {"id": "PSCHED"}, "escalation_policy": {"id": PAGERDUTY_POLICY}}]
    clients = PagerDutyClients.from_env(pagerduty_environment(BASE_ENV, pagerduty), config)
    oncall = OnCallService(config, FakeClock(), pagerduty=clients.rest)
    holder = await oncall.holder("database", FakeClock().now())
    assert (holder.users, holder.source) == ([BOB], "PagerDuty")
    await pagerduty.go_down()  # cached for a minute: paging does not wait on PagerDuty
    assert (await oncall.users(["database", "primary"], FakeClock().now())) == {"database": [BOB], "primary": [ALICE]}


def test_an_http_base_url_is_refused_with_the_variable_named():
    env = pagerduty_environment(BASE_ENV, type("Standin", (), {"url": "http://127.0.0.1:1", "webhook_secret": "s"})())
    with pytest.raises(SystemExit, match="PAGERDUTY_API_URL.*https://"):
        PagerDutyClients.from_env(env, settings())
    assert PagerDutyClients.from_env(env.with_(pagerduty_api_token=None), settings()) is None  # mirror off

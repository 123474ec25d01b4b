"""Every action_id and callback_id warroom uses, in one place."""

from enum import StrEnum


class ActionId(StrEnum):
    SEVERITY_SELECT = "incident_severity_select"
    ASSIGN_ROLE = "incident_assign_role"
    POST_UPDATE = "incident_post_update"
    RESOLVE = "incident_resolve"
    STATUS_PAGE = "incident_status_page"
    STILL_INVESTIGATING = "public_still_investigating"
    # inputs inside modals
    TITLE_INPUT = "title_input"
    SEVERITY_INPUT = "severity_input"
    DESCRIPTION_INPUT = "description_input"
    SERVICE_INPUT = "service_input"
    ROLE_INPUT = "role_input"
    USER_INPUT = "user_input"
    STATUS_INPUT = "status_input"
    UPDATE_TEXT_INPUT = "update_text_input"
    SUMMARY_INPUT = "summary_input"
    PUBLISH_INPUT = "publish_input"
    PUBLIC_TEXT_INPUT = "public_text_input"
    COMPONENTS_INPUT = "components_input"
    # runbooks; the prefixed ones end in an index so that ids stay unique within a message
    RUNBOOK_PICK = "runbook_pick"
    RUNBOOK_DONE = "runbook_done"
    RUNBOOK_SKIP = "runbook_skip"
    RUNBOOK_NOTE = "runbook_note"
    RUNBOOK_BRANCH_PREFIX = "runbook_branch_"
    RUNBOOK_CHECK_PREFIX = "runbook_check_"
    RUNBOOK_RUN_PREFIX = "runbook_run_"
    RUNBOOK_APPROVE = "runbook_approve"
    NOTE_INPUT = "note_input"
    SNOOZE_REMINDER = "reminder_snooze"
    ACTION_ITEM_DONE = "action_item_done"
    PAGE_ACK = "page_acknowledge"
    # alert groups
    ALERT_DECLARE = "alert_declare"
    ALERT_ACKNOWLEDGE = "alert_acknowledge"
    ALERT_SILENCE = "alert_silence"
    ALERT_EXPIRE_SILENCE = "alert_expire_silence"
    ALERT_RUNBOOK = "alert_runbook"
    ALERT_LINK_PREFIX = "alert_link_"  # link buttons: Slack still sends a click, which is only acknowledged


class CallbackId(StrEnum):
    DECLARE_MODAL = "declare_incident_modal"
    ROLE_MODAL = "assign_role_modal"
    UPDATE_MODAL = "post_update_modal"
    RESOLVE_MODAL = "resolve_incident_modal"
    STATUS_PAGE_MODAL = "status_page_modal"
    RUNBOOK_NOTE_MODAL = "runbook_note_modal"

"""Every action_id and callback_id warroom uses, in one place."""

from enum import StrEnum


class ActionId(StrEnum):
    SEVERITY_SELECT = "incident_severity_select"
    ASSIGN_ROLE = "incident_assign_role"
    POST_UPDATE = "incident_post_update"
    RESOLVE = "incident_resolve"
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


class CallbackId(StrEnum):
    DECLARE_MODAL = "declare_incident_modal"
    ROLE_MODAL = "assign_role_modal"
    UPDATE_MODAL = "post_update_modal"
    RESOLVE_MODAL = "resolve_incident_modal"

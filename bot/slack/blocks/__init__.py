"""Block Kit builders: the incident card and messages (incidents.py), runbook messages, paging and on-call."""

"""Outgoing webhooks, a playbook step: the URL guard (safety.py), the signature receivers check
(signing.py), the delivery rows and their retries (services.py) and the tasks (tasks.py)."""

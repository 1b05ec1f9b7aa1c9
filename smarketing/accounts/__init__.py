"""Logging in: the lockout after repeated wrong passwords (django-axes), the managers' page of
failed logins and lockouts, and password reset by email through the outbox.

Above the apps: it reads axes' rows and writes through playbooks' email service; nothing below
imports it (settings name its lockout page by path).
"""

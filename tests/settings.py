"""The settings the test suite runs on: the product's own, as a developer runs them (DEBUG=1).

The product's default is DEBUG off with a secret kept in var/, and production (DATABASE_URL)
refuses to start without SECRET_KEY. The suite runs in development mode instead, as a developer's
shell would, so `DATABASE_URL=… pytest` needs no key and pages link unhashed static files without a
collectstatic first; pytest-django still turns DEBUG off while each test runs. The variable is set
in this process's environment, so the worker and beat processes that tests start inherit it.
Tests of the defaults themselves load settings in a clean child process (tests/smarketing/test_settings.py).
"""

import os

if not os.environ.get("DEBUG"):
    os.environ["DEBUG"] = "1"

from smarketing.settings import *  # noqa: E402, F403

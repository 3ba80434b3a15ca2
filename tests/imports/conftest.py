"""The import tests use the push tests' sandbox and brands (acme 700001, beta 700002)."""

from tests.iys_push.conftest import db, sandbox  # noqa: F401

"""A faithful local stand-in for the İYS API (IYS_API.md §9), with fault knobs.

``SandboxServer`` (in ``iys_push.sandbox.testing``) starts it in-process for tests and the
zero-config run; ``run_sandbox`` serves it standalone (``iys-inbound sandbox-iys``).
"""

from iys_push.sandbox.app import SANDBOX_STATE, create_app, run_sandbox
from iys_push.sandbox.state import Account, Clock, Faults, SandboxConfig, SandboxState

__all__ = ["SANDBOX_STATE", "Account", "Clock", "Faults", "SandboxConfig", "SandboxState",
           "create_app", "run_sandbox"]

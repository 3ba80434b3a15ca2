"""A faithful local stand-in for the İYS API (IYS_API.md §9), with fault knobs."""

from iys_push.sandbox.app import SANDBOX_STATE, create_app, run_sandbox
from iys_push.sandbox.state import Account, SandboxConfig, SandboxState

__all__ = ["SANDBOX_STATE", "Account", "SandboxConfig", "SandboxState", "create_app",
           "run_sandbox"]

"""What one SMPP link needs to know (filled from the TOML file by ``inbound.config``)."""

from __future__ import annotations

from dataclasses import dataclass, field

UNCOMMITTED_WINDOWS = 4  # the default bound on waiting PDUs, in windows


@dataclass(frozen=True)
class LinkSettings:
    name: str
    host: str
    port: int
    system_id: str
    password: str = field(default="", repr=False)
    mode: str = "receiver"              # receiver | transceiver | transmitter
    system_type: str = ""
    address_range: str = ""
    window: int = 50                    # deliver_sm stored per commit at most
    # PDUs waiting for their commit at most; beyond it a deliver_sm/data_sm is answered
    # ESME_RTHROTTLED at once. None: UNCOMMITTED_WINDOWS windows
    max_uncommitted: int | None = None
    enquire_link_interval: float = 30.0
    response_timeout: float = 10.0
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0
    tls: bool = False
    tls_verify: bool = True
    gsm_as_latin1: bool = False         # some SMSCs send data_coding 0 as Latin-1
    numbers: tuple[str, ...] = ()       # informational; matching uses destination_addr
    # an identical PDU the SMSC could be resending (its earlier copy's session ended, or its
    # answer came later than smsc_response_window) within this many seconds is a
    # redelivery (README "Redeliveries and repeats")
    redelivery_window: float = 900.0
    smsc_response_window: float = 30.0  # seconds the SMSC waits for a deliver_sm_resp
    send_rate: float = 10.0             # submit_sm per second at most (confirmation replies)
    replies: bool = True                # send confirmation replies (transceiver links only)
    # a transmitter link sends the replies to what this receiver link received (for SMSCs
    # that give receiving and sending separate binds)
    replies_for: str = ""

    @property
    def uncommitted_limit(self) -> int:
        """How many received PDUs may wait for their commit (queued or committing)."""
        if self.max_uncommitted is not None:
            return self.max_uncommitted
        return UNCOMMITTED_WINDOWS * self.window

    @property
    def reply_outbox(self) -> str | None:
        """Whose replies this link sends (sms_out rows are keyed by the receiving link)."""
        if self.mode == "transceiver" and self.replies:
            return self.name
        if self.mode == "transmitter" and self.replies and self.replies_for:
            return self.replies_for
        return None

"""SMPP command statuses as data: one IntEnum for the statuses this code acts on, names for the rest,
and what the connector does with each."""

from __future__ import annotations

import enum

from smpplib import consts


class CommandStatus(enum.IntEnum):
    ESME_ROK = 0x00000000
    ESME_RINVCMDID = 0x00000003
    ESME_RINVBNDSTS = 0x00000004
    ESME_RALYBND = 0x00000005
    ESME_RINVDSTADR = 0x0000000B
    ESME_RINVPASWD = 0x0000000E
    ESME_RINVSYSID = 0x0000000F
    ESME_RMSGQFUL = 0x00000014
    ESME_RTHROTTLED = 0x00000058
    ESME_RX_T_APPN = 0x00000064


# The SMSC is busy: pause this bind and retry the same PDU (DESIGN.md section 5).
TRANSIENT_STATUSES = frozenset({CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL})
CREDENTIAL_STATUSES = frozenset({CommandStatus.ESME_RINVPASWD, CommandStatus.ESME_RINVSYSID})

_NAMES: dict[int, str] = {
    value: name.removeprefix("SMPP_")
    for name, value in vars(consts).items()
    if name.startswith("SMPP_ESME_R") and isinstance(value, int)
}


def status_name(status: int) -> str:
    """The status's name, also for the many this code never acts on; hex for unknown ones."""
    return _NAMES.get(status, f"0x{status:08X}")

"""The built-in ViHAT Global simulator: an SMPP SMSC on loopback, for the local stack and the tests."""

from connector.simulator.smsc import SimulatorSettings, SmscSimulator
from connector.simulator.thread import SimulatorThread

__all__ = ["SimulatorSettings", "SimulatorThread", "SmscSimulator"]

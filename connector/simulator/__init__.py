"""The built-in ViHAT Global simulator: an SMPP SMSC on loopback, for the local stack and the tests."""

from connector.simulator.rest_api import RestSimulator, RestSimulatorSettings
from connector.simulator.smsc import SimulatorSettings, SmscSimulator
from connector.simulator.thread import SimulatorThread

__all__ = ["RestSimulator", "RestSimulatorSettings", "SimulatorSettings", "SimulatorThread", "SmscSimulator"]

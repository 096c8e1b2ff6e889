"""Twilio-compatible SMS simulator (see ``app.Simulator``)."""

from .app import Simulator, run_simulator
from .state import FaultRule, ReceivedRequest

__all__ = ["FaultRule", "ReceivedRequest", "Simulator", "run_simulator"]

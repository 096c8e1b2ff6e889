"""Twilio-compatible simulator of Messages and Calls (see ``app.Simulator``)."""

from .app import Simulator, run_simulator
from .state import FaultRule, ReceivedRequest

__all__ = ["FaultRule", "ReceivedRequest", "Simulator", "run_simulator"]

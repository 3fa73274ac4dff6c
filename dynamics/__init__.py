"""dynamics: reduced gradient flows of small transformers, derived, compiled, integrated and checked."""

from dynamics.schedule import Schedule
from dynamics.trajectory import Trajectory, flow_time

__version__ = "0.1.0"

__all__ = ["Schedule", "Trajectory", "flow_time", "__version__"]

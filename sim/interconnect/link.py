"""Link models: how long a transfer of some bytes takes on a link, and what it costs in energy.

A :class:`LinkModel` is built from a validated :class:`~sim.config.hardware.LinkConfig` and the number
of parallel links (``count`` in the system file). The replay engine (:mod:`sim.engine`) owns the
queues (:mod:`sim.interconnect.contention`); a model only answers "how long does a transfer take", "how
long does it occupy the sender" (serialisation) and "how many joules". Models are registered by name in
:data:`LINK_MODELS` (the ``model:`` key of a system link or topology entry).

``simple`` (the default)::

    time   = latency + bytes / (bandwidth x efficiency x count)        s
    energy = bytes x 8 x energy_per_bit                                 J
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from sim.config.hardware import LinkConfig
from sim.errors import ConfigError


class LinkModel(ABC):
    """One (possibly multi-lane) link between two devices."""

    def __init__(self, config: LinkConfig, count: int = 1) -> None:
        self.config = config
        self.count = count

    @property
    def duplex(self) -> bool:
        """True when the two directions are independent (full duplex)."""
        return self.config.duplex == "full"

    @property
    def bandwidth(self) -> float:
        """Peak bandwidth of one direction over all parallel links, B/s."""
        return self.config.bandwidth * self.count

    @abstractmethod
    def transfer_time(self, nbytes: float) -> float:
        """Seconds from the first byte sent to the last byte received, alone on the link (latency included)."""

    def serialization_time(self, nbytes: float) -> float:
        """Seconds ``nbytes`` occupy the sending side (the link is free again after it; the latency is
        flight time that other messages overlap). Default: :meth:`transfer_time` less the latency."""
        return max(0.0, self.transfer_time(nbytes) - self.config.latency)

    def energy(self, nbytes: float) -> float:
        """Joules to move ``nbytes``."""
        return nbytes * 8.0 * self.config.energy


class SimpleLink(LinkModel):
    """Bandwidth plus latency: ``latency + bytes / (bandwidth x efficiency x count)``."""

    def transfer_time(self, nbytes: float) -> float:
        """Seconds for ``nbytes``."""
        if nbytes <= 0:
            return 0.0
        c = self.config
        return c.latency + nbytes / (c.bandwidth * c.efficiency * self.count)

    def serialization_time(self, nbytes: float) -> float:
        """``bytes / (bandwidth x efficiency x count)``, s."""
        if nbytes <= 0:
            return 0.0
        c = self.config
        return nbytes / (c.bandwidth * c.efficiency * self.count)


LINK_MODELS: dict[str, Callable[[LinkConfig, int], LinkModel]] = {"simple": SimpleLink}


def register_link_model(name: str, factory: Callable[[LinkConfig, int], LinkModel]) -> None:
    """Make ``factory`` available as ``model: NAME`` in system files."""
    LINK_MODELS[name] = factory


def build_link(model: str, config: LinkConfig, count: int = 1) -> LinkModel:
    """The link model called ``model`` for ``config``; ConfigError for an unknown name."""
    if model not in LINK_MODELS:
        raise ConfigError(
            "unknown link model",
            key="links.model",
            value=model,
            expected="one of " + ", ".join(sorted(LINK_MODELS)),
        )
    return LINK_MODELS[model](config, count)

"""pimsim: a cycle-accurate simulator of LLM inference hardware.

Data flows one way: config + trace -> placement -> engine (devices, memories, links) -> results ->
reports, plots, timelines. See ``docs/architecture.md``.
"""

__version__ = "0.1.0"

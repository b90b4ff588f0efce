"""Charts (matplotlib, Agg backend; PNG, SVG or PDF by file suffix).

* :mod:`sim.plots.roofline`: rooflines, one device (:func:`~sim.plots.roofline.plot_roofline`) or several
  (:func:`~sim.plots.roofline.plot_rooflines`), hierarchical ceilings, ops coloured by kind or phase;
* :mod:`sim.plots.breakdown`: latency by phase and energy by component, stacked bars;
* :mod:`sim.plots.sweep`: a figure against a swept key (lines) and over two swept keys (heatmap);
* :mod:`sim.plots.pareto`: Pareto fronts (latency vs energy vs cost...);
* :mod:`sim.plots.gantt`: Gantt charts of Chrome-trace timelines.

:mod:`sim.plots.common` holds what they share (labels with units, log scales, saving) and
:mod:`sim.plots.table` the row selection of sweep tables. Importing this package imports no matplotlib.
"""

"""``python -m sim`` runs the pimsim command line."""

from sim.cli import main

raise SystemExit(main())

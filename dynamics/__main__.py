"""``python -m dynamics`` is the ``dynamics`` command."""

from dynamics.cli import main

raise SystemExit(main())

"""``python -m sqlperf``: the same as the ``sqlperf`` command."""

from sqlperf.cli import main

raise SystemExit(main())

"""``python -m sqlperf``: the same as the ``sqlperf`` command."""

from sqlperf.entry import main

raise SystemExit(main())

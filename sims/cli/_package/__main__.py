"""``python -m gapkit``: the ``gapkit`` command."""
import sys

from gapkit.sims.cli._main import main

sys.exit(main())

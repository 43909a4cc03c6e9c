"""``python -m dlref.cli …`` is the ``dlref`` command (Lightning's DDP starts its other processes this way)."""

import sys

from dlref.cli import main

sys.exit(main())

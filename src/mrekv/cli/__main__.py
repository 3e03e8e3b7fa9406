"""``python -m mrekv.cli``: the ``mrekv`` command line."""

import sys

from mrekv.cli import main

sys.exit(main())

"""``python -m sebn.cli``: the ``sebn`` command."""

import sys

from sebn.cli import main

sys.exit(main())

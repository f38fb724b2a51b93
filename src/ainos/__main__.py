"""``python -m ainos`` runs the ``ainos`` command."""

import sys

from ainos.app.cli import main

sys.exit(main())

"""``python -m lusnet``: the same command line as the ``lusnet`` console script."""

import sys

from lusnet.cli import main

sys.exit(main())

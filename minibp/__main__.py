"""`python -m minibp` is the `minibp` command."""

import sys

from minibp.cli import main

sys.exit(main())

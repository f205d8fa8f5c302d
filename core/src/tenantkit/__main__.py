"""``python -m tenantkit``: the ``tenantkit`` command line."""

import sys

from tenantkit.cli import main

sys.exit(main())

"""``python -m bot``."""

import gc
import sys

# Importing builds many objects that live as long as the process; bot.cli.main turns
# cyclic garbage collection back on once the command has set up.
gc.disable()

from bot.cli import main  # noqa: E402

sys.exit(main(fast_exit=True))

#!/usr/bin/env python3
"""pio-fuse.py: ddmfs on the FUSE transport in a QEMU guest, drivers on the
pio backend against QEMU's RTC, parallel port and i8042 (see hostrun.py)."""
import sys

import hostrun

sys.exit(hostrun.main("fuse"))

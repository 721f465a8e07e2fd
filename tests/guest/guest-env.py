#!/usr/bin/env python3
"""guest-env.py: one QEMU guest boot checking the guest environment
(smoke.sh) and libdriver's CUSE transport on its own (cuse-libdriver.sh);
see hostrun.py."""
import sys

import hostrun

sys.exit(hostrun.main("env"))

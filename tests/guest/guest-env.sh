#!/bin/bash
# guest-env.sh: the guest side of guest-env.py: the checks of the guest
# environment itself (smoke.sh), then of libdriver's CUSE transport without
# ddmfs (cuse-libdriver.sh, drivers from $DDM_BUILD).  Each prints its own
# TAP plan and lines; hostrun.py adds them up.  Exits 0 only if both pass.
here=$(dirname "${BASH_SOURCE[0]}")
status=0
bash "$here/smoke.sh" || status=1
bash "$here/cuse-libdriver.sh" || status=1
exit $status

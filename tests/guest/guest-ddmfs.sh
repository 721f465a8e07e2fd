#!/bin/bash
# guest-ddmfs.sh: the guest side of the ddmfs guest tests (boot.sh runs
# scripts with bash): runs guest_ddmfs.py with the same arguments.
exec python3 "$(dirname "${BASH_SOURCE[0]}")/guest_ddmfs.py" "$@"

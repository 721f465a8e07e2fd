#!/bin/bash
# guest-pci.sh: the guest side of pci-vfio.py (boot.sh runs scripts with
# bash): runs guest_pci.py with the same arguments.
exec python3 "$(dirname "${BASH_SOURCE[0]}")/guest_pci.py" "$@"

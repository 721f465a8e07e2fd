#!/usr/bin/env python3
"""pci-vfio.py: one boot of the PCI machine (q35, QEMU's intel-iommu, an
edu device, a PCIe root port for hotplug): the platform's PCI, IOMMU and
VFIO facts, then ddmfs on them (guest_pci.py; see hostrun.py)."""
import sys

import hostrun

sys.exit(hostrun.main("pci"))

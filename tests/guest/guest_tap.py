"""guest_tap.py: the TAP runner the guest test files share (guest_ddmfs.py,
guest_pci.py): each test function is one test point; a failure prints
its traceback as TAP comments and the run goes on."""

import os
import sys
import time
import traceback


def run(tests, log_path, ddmfs_proc):
    """Runs tests in order and prints TAP; then kills the ddmfs process
    ddmfs_proc() returns if it still runs, and prints the last lines of
    its log log_path.  Returns the exit status: 0 if all passed."""
    print(f"1..{len(tests)}", flush=True)
    failed = 0
    for i, t in enumerate(tests, 1):
        start = time.monotonic()
        try:
            t()
        except Exception:  # report it and go on with the next test
            failed += 1
            print(f"not ok {i} - {t.__name__}")
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        else:
            print(f"ok {i} - {t.__name__} ({time.monotonic() - start:.1f}s)")
        sys.stdout.flush()
    p = ddmfs_proc()
    if p is not None and p.poll() is None:
        p.kill()
        p.wait()
    try:
        with open(log_path, errors="replace") as f:
            for line in f.read().splitlines()[-40:]:
                print(f"# {os.path.basename(log_path)}: " + line)
    except OSError:
        pass
    return 1 if failed else 0

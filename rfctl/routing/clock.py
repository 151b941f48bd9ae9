"""The clock routing reads and sleeps on: one seam, so that tests can swap in
a fake clock (sleeping then advances time at once)."""

from __future__ import annotations

import time

monotonic = time.monotonic
sleep = time.sleep

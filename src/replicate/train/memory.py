"""Keep freed memory in the process instead of handing it back to the OS after every forward.

glibc serves an allocation above its mmap threshold (128 KiB, rising to at most 32 MiB as large
blocks are freed) with a fresh ``mmap`` and returns it to the kernel on ``free``. An SNN's
activations are T-fold larger than its ANN twin's, so at the default evaluation batch (256, T = 6,
the spiking ResNet-18 of the ``cpu`` rows) most of them are above the threshold and every forward
page-faults its buffers again: 364 img/s at batch 256 against 915 img/s with the settings below
(``replicate bench sweep --suite speed``, ``results/benchmarks/speed``; outputs bit-identical).
:func:`keep_freed_memory` raises the mmap and trim thresholds to 1 GiB with ``mallopt`` (glibc
``M_MMAP_THRESHOLD`` = −3, ``M_TRIM_THRESHOLD`` = −1, see ``man 3 mallopt``), so freed blocks stay
in the heap and are reused. The process's RSS no longer drops between steps; its peak did not grow
in the benchmarks (``results/benchmarks/kd``, measured with the fused LIF as well). No effect on any
number computed.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_THRESHOLD = 1 << 30  # 1 GiB
_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Apply the thresholds once per process; True if applied (Linux with glibc), else False
    (other platforms: their allocators do not have this problem in the same form)."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _applied = bool(libc.mallopt(_M_MMAP_THRESHOLD, _THRESHOLD)) and bool(
                libc.mallopt(_M_TRIM_THRESHOLD, _THRESHOLD))
        except (OSError, AttributeError):  # musl and others: no mallopt
            _applied = False
    return _applied

"""Which arithmetic the Keras CNN trains in: bfloat16 mixed precision where the CPU has it.

Plain Python (reads ``/proc/cpuinfo``): the tests ask it too, without TensorFlow.
"""
from __future__ import annotations


def cpu_has_bf16() -> bool:
    """True when the CPU computes bfloat16 natively (Linux: avx512_bf16 or amx_bf16 in /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def keras_dtype_policy(precision: str) -> str:
    """The Keras dtype policy of a ``precision`` setting: "mixed_bfloat16" or "float32"
    ("auto": bfloat16 when :func:`cpu_has_bf16`)."""
    if precision == "auto":
        precision = "bfloat16" if cpu_has_bf16() else "float32"
    return "mixed_bfloat16" if precision == "bfloat16" else "float32"

"""`make bench`: every benchmark in one run, each printing its times and ratios, then the table
of goals (issue 16's for compiled steps, issue 14's limits for the eager engine)."""
import importlib
import os
import platform
import time

import numpy as np

from . import harness

SUITES = ["bench.tensor_bench", "bench.nn_bench", "bench.gradcheck_bench", "bench.scalar_bench"]


def machine():
    from threadpoolctl import threadpool_info
    blas = ", ".join(sorted({f"{i['internal_api']} {i['version']}" for i in threadpool_info()
                             if i["user_api"] == "blas"}))
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    torch = harness.torch_or_none()
    parts = [f"{os.cpu_count()} CPUs ({cpu})", f"Python {platform.python_version()}",
             f"numpy {np.__version__} ({blas})"]
    if torch is not None:
        parts.append(f"torch {torch.__version__}")
    return ", ".join(parts)


def main():
    start = time.perf_counter()
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    for name in SUITES:
        print()
        importlib.import_module(name).main()
    harness.print_goals()
    print(f"\n(make bench: {time.perf_counter() - start:.0f} s; load average now "
          f"{os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()

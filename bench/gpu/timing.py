"""What the side-by-side GPU benchmarks (wide.py, fused.py) share."""
import statistics
import time


def timed(fn, sync, repeats):
    """Median wall time (s) of fn() + sync() over `repeats` calls after one untimed call."""
    fn()
    sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)

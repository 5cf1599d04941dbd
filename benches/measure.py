#!/usr/bin/env python3
"""Runs a shell command N times; prints its median wall time, median CPU time (user + system)
and peak resident memory (MiB) across its processes. Usage: measure.py RUNS COMMAND"""
import resource
import statistics
import subprocess
import sys

runs, command = int(sys.argv[1]), sys.argv[2]
walls, cpus, peak = [], [], 0
for _ in range(runs):
    # A fresh shell per run, so the children's usage counted is this run's alone.
    probe = (
        "import resource, time; r = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(r.ru_utime + r.ru_stime, r.ru_maxrss)"
    )
    script = f"start=$(date +%s.%N); {command} >/dev/null; end=$(date +%s.%N); " \
             f"echo $start $end; python3 -c '{probe}'"
    out = subprocess.run(["bash", "-c", script], check=True, capture_output=True, text=True).stdout.split()
    start, end, cpu, rss = float(out[-4]), float(out[-3]), float(out[-2]), int(out[-1])
    walls.append(end - start)
    cpus.append(cpu)
    peak = max(peak, rss)
print(f"{statistics.median(walls):.3f} {statistics.median(cpus):.3f} {peak / 1024:.0f}")

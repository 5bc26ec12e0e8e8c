"""Samples a process's anonymous memory until its log says it is ready.

usage: peak_anon.py PID LOG   prints "PEAK_KB HWM_KB" (RssAnon's highest sample and
VmHWM, both in kB, read from /proc/PID/status). Samples every millisecond: a table
that grows holds its old copy for tens of milliseconds, which a 20 ms sampler misses.
"""
import re
import sys
import time

pid, log = sys.argv[1], sys.argv[2]
peak = 0
with open(f"/proc/{pid}/status") as status:
    checks = 0
    while True:
        status.seek(0)
        text = status.read()
        anon = re.search(r"RssAnon:\s+(\d+)", text)
        if not anon:  # a zombie's status has no memory lines
            sys.exit("the daemon exited before it was ready")
        peak = max(peak, int(anon.group(1)))
        checks += 1
        if checks % 20 == 0:
            with open(log) as f:
                if "event=ready" in f.read():
                    break
        time.sleep(0.001)
    status.seek(0)
    text = status.read()
    peak = max(peak, int(re.search(r"RssAnon:\s+(\d+)", text).group(1)))
    print(peak, re.search(r"VmHWM:\s+(\d+)", text).group(1))

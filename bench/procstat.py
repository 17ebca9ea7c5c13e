"""What a benchmark reads about a running process from /proc (Linux): CPU time and peak RSS."""
import os

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU seconds the process has used so far."""
    # The command name in field 2 may hold spaces or parentheses: split after the last ')'.
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


def hwm_kb(pid):
    """Peak resident set size (VmHWM), in KiB."""
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmHWM:"):
            return int(l.split()[1])
    return 0

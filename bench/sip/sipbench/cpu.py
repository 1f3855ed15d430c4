"""CPU accounting from /proc: a process tree's utime+stime, CPU sets' busy time, the host's load."""

import os

CLK_TCK = os.sysconf("SC_CLK_TCK")


def read_stat(pid):
    """(ppid, utime+stime ticks, starttime) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    # rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15, starttime 22
    return int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[19])


def descendants(root):
    """root and all its descendants (processes, not threads)."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = read_stat(int(name))
            if st:
                children.setdefault(st[0], []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if read_stat(pid) is None:
            continue
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        st = read_stat(pid)
        if st:
            total += st[1]
    return total


def peak_util(samples, window=1.0):
    """Highest CPU use in % of one core over any span of at least window seconds:
    samples are (monotonic time, CPU ticks)."""
    best = None
    for i, (t0, c0) in enumerate(samples):
        for t1, c1 in samples[i + 1:]:
            if t1 - t0 >= window:
                u = 100.0 * (c1 - c0) / CLK_TCK / (t1 - t0)
                best = u if best is None else max(best, u)
                break
    return round(best, 1) if best is not None else None


def parse_cpus(spec):
    """taskset -c syntax ("0", "0-1", "0,2") to a set of CPU numbers."""
    out = set()
    for part in str(spec).split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out.update(range(int(lo), int(hi) + 1))
        elif part.strip():
            out.add(int(part))
    return out


def cpu_busy_ticks(cpus):
    """Busy ticks (all but idle and iowait) and steal ticks of these CPUs, from /proc/stat."""
    busy = steal = 0
    with open("/proc/stat") as f:
        for line in f:
            name = line.split(" ", 1)[0]
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                v = [int(x) for x in line.split()[1:]]
                # user nice system idle iowait irq softirq steal (guest is inside user)
                busy += v[0] + v[1] + v[2] + v[5] + v[6]
                steal += v[7] if len(v) > 7 else 0
    return busy, steal


def cpus_allowed(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Cpus_allowed_list:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def loadavg():
    try:
        return [float(x) for x in open("/proc/loadavg").read().split()[:3]]
    except OSError:
        return []


def own_cpu_seconds():
    t = os.times()
    return t.user + t.system


def cpu_pressure():
    """/proc/pressure/cpu 'some' averages (share of time some task waited for a CPU), or None."""
    try:
        line = open("/proc/pressure/cpu").readline().split()
        return {k: float(v) for k, v in (x.split("=") for x in line[1:4])}
    except (OSError, ValueError):
        return None

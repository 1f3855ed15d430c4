"""Proc, every child the benchmark starts, and stop_all(), which stops those still running."""

import os
import signal
import subprocess
import time
from pathlib import Path

from .common import log
from .cpu import descendants, read_stat

RUNNING = []  # every Proc not stopped yet: stopped on exit whatever happens


def wait_poll(poll, timeout):
    """poll() every 50 ms until it returns an exit code or `timeout` s pass (then None)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        code = poll()
        if code is not None:
            return code
        time.sleep(0.05)
    return None


class Proc:
    """A child in its own session (process group), output to a log file, pinned with taskset."""

    nice = 0  # from --nice: every Proc runs under `nice -n NICE`
    rt = 0  # from --rt-priority: every Proc runs under `chrt -r RT` (SCHED_RR)

    def __init__(self, name, argv, cpus, logdir, cwd=None, stdin_pipe=False):
        self.name = name
        self.argv = ((["chrt", "-r", str(Proc.rt)] if Proc.rt else [])
                     + (["nice", "-n", str(Proc.nice)] if Proc.nice else [])
                     + (["taskset", "-c", cpus] if cpus else []) + [str(a) for a in argv])
        self.log_path = Path(logdir) / f"{name}.log"
        self.rusage = None
        self.returncode = None
        with open(self.log_path, "wb") as out:
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
                                          stdout=out,
                                          stderr=subprocess.STDOUT, cwd=cwd or logdir,
                                          start_new_session=True)
        self.pid = self.popen.pid  # taskset execs the program: same pid
        self.start_time = time.monotonic()
        RUNNING.append(self)

    def cmdline(self):
        return " ".join(self.argv)

    def poll(self):
        """Reap without blocking; keeps the rusage (CPU of the whole process) of the child."""
        if self.returncode is not None:
            return self.returncode
        try:
            pid, status, ru = os.wait4(self.pid, os.WNOHANG)
        except ChildProcessError:
            self.returncode = -1
            return self.returncode
        if pid == 0:
            return None
        self.rusage = ru
        self.returncode = os.waitstatus_to_exitcode(status)
        self.popen.returncode = self.returncode
        return self.returncode

    def wait(self, timeout):
        return wait_poll(self.poll, timeout)

    def cpu_seconds(self):
        """CPU of a reaped child (utime+stime)."""
        return (self.rusage.ru_utime + self.rusage.ru_stime) if self.rusage else None

    def tail(self, n=15):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, grace=5.0):
        """SIGTERM to the group, SIGKILL after grace; then any descendant that is left."""
        if self.poll() is None:
            family = [(p, read_stat(p)) for p in descendants(self.pid)]
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
                try:
                    os.killpg(self.pid, sig)
                except ProcessLookupError:
                    pass
                if self.wait(wait) is not None:
                    break
            for pid, st in family:  # left its group: kill it only if it is the same process
                now = read_stat(pid)
                if st and now and now[2] == st[2]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        if self in RUNNING:
            RUNNING.remove(self)
        return self.returncode


def stop_all():
    for p in list(reversed(RUNNING)):
        try:
            p.stop(grace=3.0)
        except Exception as e:  # keep cleaning up
            log(f"stopping {p.name}: {e}")

"""SIP benchmark: calls per second, CPU per call and concurrent calls of a SIP proxy under test.

For each target (one at a time, several in one run) it starts the proxy, a sipp UAS behind it and
then, per measurement, a sipp UAC in front of it, all on 127.0.0.1:

  (a) CPS ramp: the UAC places short calls (INVITE/180/200/ACK, hold, BYE/200; no RTP) at each
      rate of --steps for --step-seconds; the ramp stops after the first step with more than
      --max-fail-pct failed calls (failed = placed - successful, so unfinished calls count).
  (b) CPU per call: utime+stime from /proc/PID/stat of every process of the target (the threads
      are included), before and after each step (the window ends --settle seconds after the UAC
      exits, so the transactions' wait timers are paid for), divided by the successful calls.
  (c) concurrent calls: for each level of --concurrent, N calls set up at --concurrent-rate CPS
      and held together for --concurrent-hold seconds, with RTP by default (the UAC streams the
      PCMA audio of a pcap, 50 packets/s per call; the UAS echoes it with -rtp_echo); reports
      failures, the peak of concurrent calls, the target's CPU while all are up and, when the
      target relays media, the packets it relayed. Levels stop at the first one that fails.

Pinning: the target on --proxy-cpus (default CPU 0), sipp UAC and UAS and this script on
--load-cpus (default CPU 1), all with taskset / sched_setaffinity; the output records it.
Every process and the run directory are removed at the end, also on Ctrl-C or an error.

Targets are classes in TARGETS (targets.py, see class Target); --list-targets shows them.
Python 3 standard library only. Run as root on the benchmark host; see README.md, which also
lists the modules of this package.
"""

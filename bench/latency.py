#!/usr/bin/env python3
"""bench/latency.py - event-to-notification latency, idle CPU and RSS of `mdmhealth run`.

Starts `mdmhealth run -f` on an xml-follow source with one trap2sink pointing
at a UDP socket of this script, appends N events that each change the state
(1003 / 1004 alternating, so every event yields one notification), and
measures for each the time from the append (after flush) to the arrival of
its SNMPv2c trap, matched by the EventRecordID carried in the trap. Then it
leaves the agent idle and samples its CPU time and RSS from /proc.

Usage: bench/latency.py MDMHEALTH_BINARY [N [RATE]]   (default N = 500)

Without RATE each event is appended once the previous one's trap arrived
(one event in flight). With RATE the events are appended at RATE per second
whatever the traps do (e.g. 10: events arriving at 10/s), and each latency is
still from its own append to its own trap.
Everything runs on 127.0.0.1 with free ports; nothing is left running.
"""
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

EVENT = (
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
    "<Provider Name='Device Manager'/><EventID Qualifiers='{q}'>{eid}</EventID><Level>{lvl}</Level>"
    "<TimeCreated SystemTime='2026-11-25T10:00:00.000Z'/><EventRecordID>{rid}</EventRecordID>"
    "<Channel>Mobile Device Manager</Channel><Computer>DM01.contoso.com</Computer></System>"
    "<EventData><Data>bench event {rid}</Data></EventData></Event>\n"
)


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def proc_rss_kib(pid, key="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def event_text(i, rid):
    error = i % 2 == 0
    return EVENT.format(q=49152 if error else 16384, eid=1003 if error else 1004,
                        lvl=2 if error else 4, rid=rid)


def record_id_in(want, data):
    # The record ID travels as an OCTET STRING of decimal digits.
    return re.search(b"\x04" + bytes([len(want)]) + want, data) is not None


def paced(events, receiver, n, rate):
    """Appends n events at rate/s from a thread; returns each one's append-to-trap ms."""
    appended = {}
    done = threading.Event()

    def writer():
        start = time.monotonic()
        with open(events, "a") as out:
            for i in range(n):
                due = start + i / rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                rid = 1000 + i
                # Taken before the write: the trap can arrive before this
                # thread runs again after the flush.
                appended[rid] = time.monotonic()
                out.write(event_text(i, rid))
                out.flush()
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    arrived = {}
    try:
        while len(arrived) < n:
            data, _ = receiver.recvfrom(65535)
            t1 = time.monotonic()
            for m in re.finditer(rb"\x04([\x04-\x06])", data):
                digits = data[m.end():m.end() + m.group(1)[0]]
                if digits.isdigit() and int(digits) - 1000 in range(n):
                    arrived.setdefault(int(digits), t1)
                    break
    finally:
        thread.join()
    return [(arrived[rid] - appended[rid]) * 1000.0 for rid in sorted(arrived)]


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    work = tempfile.mkdtemp(prefix="mdmhealth-latency-")
    events = os.path.join(work, "events.xml")
    open(events, "w").close()

    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(10)
    trap_port = receiver.getsockname()[1]
    with open(os.path.join(work, "mdm.conf"), "w") as f:
        f.write(f"source xml-follow {events}\nstate-dir {work}/state\n"
                f"trap2sink 127.0.0.1:{trap_port} bench\n")
    agent = subprocess.Popen([binary, "run", "-f", "-c", os.path.join(work, "mdm.conf")],
                             stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "run.log"), "w"))
    try:
        time.sleep(1.0)  # start-up; not part of any figure
        latencies = []
        rate = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
        cpu_start = proc_cpu_seconds(agent.pid)
        if rate > 0:
            latencies = paced(events, receiver, n, rate)
        else:
            with open(events, "a") as out:
                for i in range(n):
                    rid = 1000 + i
                    out.write(event_text(i, rid))
                    out.flush()
                    t0 = time.monotonic()
                    want = str(rid).encode()
                    while True:
                        data, _ = receiver.recvfrom(65535)
                        t1 = time.monotonic()
                        if record_id_in(want, data):
                            latencies.append((t1 - t0) * 1000.0)
                            break
        cpu_busy = proc_cpu_seconds(agent.pid) - cpu_start
        latencies.sort()
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(round(0.99 * len(latencies))) - 1)]
        print(f"events: {n} state changes, each one SNMPv2c trap over loopback"
              + (f", appended at {rate:g}/s" if rate > 0 else ", one in flight"))
        print(f"latency append->trap: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {latencies[-1]:.2f} ms")
        # Less sensitive to other load than the latencies: the agent's own CPU time per event.
        print(f"busy: {cpu_busy:.2f} s CPU for {n} events ({1e6 * cpu_busy / n:.0f} us per event)")

        rss_busy = proc_rss_kib(agent.pid, "VmHWM")
        cpu0 = proc_cpu_seconds(agent.pid)
        idle = 10.0
        time.sleep(idle)
        cpu1 = proc_cpu_seconds(agent.pid)
        print(f"idle: {100.0 * (cpu1 - cpu0) / idle:.3f} % CPU over {idle:.0f} s, "
              f"RSS {proc_rss_kib(agent.pid) / 1024:.1f} MiB (peak {rss_busy / 1024:.1f} MiB)")
    finally:
        agent.terminate()
        try:
            agent.wait(timeout=30)  # a loaded machine can take long for the last write
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
        receiver.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

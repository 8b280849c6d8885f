#!/usr/bin/env python3
"""bench/garbage.py - `mdmhealth run` while a followed file fills with hostile markup.

Starts `mdmhealth run -f` on an xml-follow source (agentaddress and a v2c
community on loopback, one trap2sink pointing at a UDP socket of this script),
then appends MB megabytes of unterminated markup to the followed file in 64 KiB
writes, as fast as it can, while another thread asks the agent for
mdmEventsRead.0 with the real `snmpget` every 100 ms. Then it appends one 1003
and measures the time to its trap. It prints:

  - snmpget round trips (wall time of the snmpget process, so it includes
    snmpget's own start-up: the idle figure before the garbage is the
    baseline) before and during the garbage: p50, p99, max, and how many
    timed out (-t 1 -r 0: no answer within 1 s);
  - the agent's CPU time for all of it, its peak RSS, and mdmEventsDamaged
    (the garbage is one damaged record, reported once);
  - the 1003 appended right after the garbage: time from the append to its
    trap (it includes the agent catching up with whatever garbage it had not
    read yet).

Usage: bench/garbage.py MDMHEALTH_BINARY [MB] [KIND] [RATE]
  MB    megabytes of garbage (default 100)
  KIND  comment ("<!--" repeated, the default), cdata ("<![CDATA[" then text),
        attribute (a start tag whose quoted attribute never closes), or
        event (an <Event> whose comment never closes)
  RATE  MB/s at which the garbage is written (default 10, so that 100 MB take
        10 s of snmpget samples); 0 = as fast as the disk takes it
Everything runs on 127.0.0.1 with free ports; nothing is left running.
"""
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from latency import EVENT, free_udp_port, proc_cpu_seconds, proc_rss_kib  # noqa: E402

ROOT = ".1.3.6.1.4.1.8072.9999.9999"
EVENTS_READ = ROOT + ".1.1.5.0"
EVENTS_DAMAGED = ROOT + ".1.1.7.0"

KINDS = {
    "comment": ("", "<!--"),
    "cdata": ("<![CDATA[", "cdata "),
    "attribute": ("<Events a=\"", "value "),
    "event": ("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><!--",
              "<!--"),
}


class Snmp:
    def __init__(self, work, port):
        self.port = port
        conf = os.path.join(work, "snmp-client")
        os.makedirs(os.path.join(conf, "persist"), exist_ok=True)
        self.env = dict(os.environ, SNMPCONFPATH=conf, SNMP_PERSISTENT_DIR=conf + "/persist", MIBS="")

    def get(self, oid):
        """(seconds, value or None): one snmpget, 1 s timeout, no retry."""
        t0 = time.monotonic()
        r = subprocess.run(["snmpget", "-v2c", "-c", "secret", "-On", "-Oqv", "-t", "1", "-r", "0",
                            f"udp:127.0.0.1:{self.port}", oid],
                           env=self.env, capture_output=True, text=True)
        dt = time.monotonic() - t0
        return dt, (r.stdout.strip() if r.returncode == 0 else None)


def summary(label, samples):
    times = sorted(s for s, v in samples if v is not None)
    lost = sum(1 for _, v in samples if v is None)
    if not times:
        return f"{label}: {len(samples)} snmpget, all timed out"
    p99 = times[min(len(times) - 1, int(round(0.99 * len(times))) - 1)]
    return (f"{label}: {len(samples)} snmpget, p50 {statistics.median(times) * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms, {lost} timed out (> 1 s)")


def main():
    if len(sys.argv) < 2 or shutil.which("snmpget") is None:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    megabytes = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    kind = sys.argv[3] if len(sys.argv) > 3 else "comment"
    rate = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
    opener, filler = KINDS[kind]
    work = tempfile.mkdtemp(prefix="mdmhealth-garbage-")
    events = os.path.join(work, "events.xml")
    open(events, "w").close()

    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(120)
    trap_port = receiver.getsockname()[1]
    agent_port = free_udp_port()
    with open(os.path.join(work, "mdm.conf"), "w") as f:
        f.write(f"source xml-follow {events}\nstate-dir {work}/state\n"
                f"agentaddress udp:127.0.0.1:{agent_port}\nrocommunity secret 127.0.0.1\n"
                f"trap2sink 127.0.0.1:{trap_port} bench\n")
    agent = subprocess.Popen([binary, "run", "-f", "-c", os.path.join(work, "mdm.conf")],
                             stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(work, "run.log"), "w"))
    snmp = Snmp(work, agent_port)
    try:
        deadline = time.monotonic() + 10
        while snmp.get(EVENTS_READ)[1] is None:
            if time.monotonic() > deadline or agent.poll() is not None:
                print(open(os.path.join(work, "run.log")).read(), file=sys.stderr)
                return 1
        idle = [snmp.get(EVENTS_READ) for _ in range(20)]

        samples = []
        done = threading.Event()

        def poll():
            while not done.is_set():
                samples.append(snmp.get(EVENTS_READ))
                time.sleep(0.1)

        poller = threading.Thread(target=poll, daemon=True)
        cpu0 = proc_cpu_seconds(agent.pid)
        total = megabytes << 20
        piece = 64 * 1024
        data = (filler * (piece // len(filler))).encode()  # whole fillers: the pattern holds
        t0 = time.monotonic()
        poller.start()
        with open(events, "ab") as out:
            out.write(opener.encode())
            written = len(opener)
            while written < total:
                out.write(data)
                out.flush()
                written += len(data)
                if rate > 0:
                    ahead = t0 + written / (rate * 1048576) - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
        t_written = time.monotonic()
        # The 1003 right behind the garbage: its trap comes once the agent is through it.
        with open(events, "a") as out:
            out.write("\n" + EVENT.format(q=49152, eid=1003, lvl=2, rid=1003))
        t_event = time.monotonic()
        t_trap = None
        try:
            while t_trap is None:
                data, _ = receiver.recvfrom(65535)
                if b"\x04\x041003" in data:
                    t_trap = time.monotonic()
        except socket.timeout:
            pass
        done.set()
        poller.join()
        cpu1 = proc_cpu_seconds(agent.pid)
        _, damaged = snmp.get(EVENTS_DAMAGED)

        print(f"garbage: {written / 1048576:.0f} MiB of {kind} ({opener + filler!r}...), "
              f"64 KiB writes, written in {t_written - t0:.2f} s "
              f"({'as fast as possible' if rate <= 0 else f'paced at {rate:g} MB/s'})")
        print(summary("idle", idle))
        print(summary("while the garbage was written and read", samples))
        print(f"agent: {cpu1 - cpu0:.2f} s CPU for the garbage and the event, "
              f"peak RSS {proc_rss_kib(agent.pid, 'VmHWM') / 1024:.1f} MiB, "
              f"mdmEventsDamaged {damaged}")
        if t_trap is None:
            print(f"1003 appended after the garbage: NO TRAP within {receiver.gettimeout():.0f} s")
        else:
            print(f"1003 appended after the garbage: trap after {(t_trap - t_event) * 1000:.1f} ms")
    finally:
        agent.terminate()
        try:
            agent.wait(timeout=10)
        except subprocess.TimeoutExpired:
            print("agent: still busy 10 s after SIGTERM; killed", file=sys.stderr)
            agent.kill()
            agent.wait()
        receiver.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

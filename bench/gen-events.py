#!/usr/bin/env python3
"""Writes N Mobile Device Manager events as concatenated Event XML (wevtutil style).

usage: bench/gen-events.py N [COMPUTERS] > events.xml

The stream cycles through healthy (1004), failing (1003, repeated) and
unrelated events over COMPUTERS computers (default 8), so the replay exercises
matching, repeats, state changes and alerts. Deterministic: same N, same bytes.
"""
import sys

NS = "http://schemas.microsoft.com/win/2004/08/events/event"
PATTERN = [1004, 1003, 1003, 1003, 2001, 1004, 1004, 1003, 1005, 1004]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    computers = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    out = sys.stdout
    write = out.write
    for i in range(n):
        eid = PATTERN[(i // computers) % len(PATTERN)]
        comp = "DM%02d.contoso.com" % (i % computers)
        q = 49152 if eid == 1003 else 16384
        s, ms = divmod(i, 1000)
        write(
            "<Event xmlns='%s'><System><Provider Name='Device Manager'/>"
            "<EventID Qualifiers='%d'>%d</EventID><Level>%d</Level><Task>0</Task>"
            "<Keywords>0x80000000000000</Keywords>"
            "<TimeCreated SystemTime='2026-11-%02dT%02d:%02d:%02d.%03d0000Z'/>"
            "<EventRecordID>%d</EventRecordID><Channel>Mobile Device Manager</Channel>"
            "<Computer>%s</Computer><Security/></System><EventData>"
            "<Data>https://enroll.contoso.com:8445/EnrollmentServer/</Data>"
            "<Data>attempt %d</Data></EventData></Event>\n"
            % (NS, q, eid, 2 if eid == 1003 else 4, 1 + s // 86400 % 28, s // 3600 % 24,
               s // 60 % 60, s % 60, ms, i + 1, comp, i))


if __name__ == "__main__":
    main()

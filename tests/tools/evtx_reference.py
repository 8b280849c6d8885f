#!/usr/bin/env python3
"""evtx_reference.py - what two other .evtx readers make of a file, for
tests/test_wevt_evtx_counts.cc to compare mdmhealth's evtx source with.

    evtx_reference.py [--python-evtx-limit N] FILE

1. libevtx's own tool, evtxexport (Debian: libevtx-utils), run as a program:
   `evtxexport -f xml -m items FILE` (the intact records) and `-m recovered`
   (what libevtx recovers from damaged chunks and free space). Each record it
   exports is judged with Python's XML parser (expat, not libxml2), after the
   characters XML 1.0 forbids are replaced by U+FFFD as mdmhealth documents
   (raw C0 controls, U+FFFE, U+FFFF, and character references to them): a
   record that is then well-formed, has an EventRecordID and only the
   children the event schema allows in <Event> is an event; a recovered one
   whose EventRecordID was seen already is a copy. Records it exports as
   broken XML or with garbled element names (a recovered fragment whose
   template was overwritten) and records it cannot export ("Unable to export
   ...") are damaged.
2. python-evtx (Debian: python3-evtx), an independent implementation of the
   format that reads the intact records only, when it is installed: its first
   N records (all with N = 0; pure Python is slow, ~10 ms a record).

Output, one item a line, tab-separated:
    evtxexport  EVENTS  DAMAGED  COPIES
    event       EventRecordID  EventID  TimeCreated/@SystemTime   (evtxexport, each event)
    python-evtx RECORDS  FAILED  COMPLETE    or   python-evtx unavailable  REASON
    pyevent     EventRecordID  EventID  TimeCreated as YYYY-MM-DDTHH:MM:SS.ffffff
COMPLETE is 1 when python-evtx read the whole file, 0 when it stopped at N.
"""
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"
# The children event.xsd allows in <Event> (in the event namespace).
EVENT_CHILDREN = {"System", "EventData", "UserData", "DebugData", "BinaryEventData",
                  "ProcessingErrorData", "RenderingInfo", "ExtendedTracingInfo"}
FORBIDDEN_RAW = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
CHAR_REF = re.compile(r"&#(x[0-9A-Fa-f]{1,8}|[0-9]{1,8});")


def allowed(c):
    return (c in (0x9, 0xA, 0xD) or 0x20 <= c <= 0xD7FF or 0xE000 <= c <= 0xFFFD
            or 0x10000 <= c <= 0x10FFFF)


def replace_ref(m):
    text = m.group(1)
    value = int(text[1:], 16) if text[0] == "x" else int(text)
    return m.group(0) if allowed(value) else "&#xFFFD;"


def fields(xml_bytes):
    """(EventRecordID, EventID, SystemTime) of one event, or None when it is no event."""
    try:
        text = xml_bytes.decode("utf-8")
    except UnicodeDecodeError:
        return None
    text = CHAR_REF.sub(replace_ref, FORBIDDEN_RAW.sub("\ufffd", text))
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    system = root.find(NS + "System")
    if root.tag != NS + "Event" or system is None:
        return None
    for child in root:
        if isinstance(child.tag, str) and child.tag.startswith(NS) and \
                child.tag[len(NS):] not in EVENT_CHILDREN:
            return None
    record_id = system.findtext(NS + "EventRecordID")
    event_id = system.findtext(NS + "EventID")
    created = system.find(NS + "TimeCreated")
    if record_id is None or event_id is None:
        return None
    time = created.get("SystemTime", "") if created is not None else ""
    return (int(record_id.strip()), int(event_id.strip()), time)


def evtxexport(path, mode):
    """Each record evtxexport exports (as bytes), and how many it could not export."""
    p = subprocess.run(["evtxexport", "-f", "xml", "-m", mode, path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=False)
    if p.returncode != 0:
        sys.exit("evtxexport -m %s %s failed (%d): %s" %
                 (mode, path, p.returncode, p.stderr.decode("utf-8", "replace")))
    # After a version line, each record starts a line with "<Event " and ends
    # with a blank line.
    chunks = re.split(rb"(?m)^(?=<Event[ >])", p.stdout)[1:]
    failed = len(re.findall(rb"Unable to export (?:recovered )?record", p.stdout + p.stderr))
    return [c.rstrip() for c in chunks], failed


def microseconds(time):
    """Either reader's SystemTime as YYYY-MM-DDTHH:MM:SS.ffffff."""
    m = re.match(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?", time)
    if m is None:
        return time
    return "%sT%s.%s" % (m.group(1), m.group(2), ((m.group(3) or "") + "000000")[:6])


def main():
    args = sys.argv[1:]
    limit = 0
    if len(args) == 3 and args[0] == "--python-evtx-limit":
        limit = int(args[1])
        args = args[2:]
    if len(args) != 1:
        sys.exit(__doc__)
    path = args[0]
    events, damaged, copies, seen = [], 0, 0, set()
    for mode in ("items", "recovered"):
        chunks, failed = evtxexport(path, mode)
        damaged += failed
        for chunk in chunks:
            f = fields(chunk)
            if f is None:
                damaged += 1
            elif mode == "recovered" and f[0] in seen:
                copies += 1
            else:
                seen.add(f[0])
                events.append(f)
    print("evtxexport\t%d\t%d\t%d" % (len(events), damaged, copies))
    for f in events:
        print("event\t%d\t%d\t%s" % f)

    try:
        import Evtx.Evtx as evtx
    except ImportError as e:
        print("python-evtx\tunavailable\t%s" % e)
        return
    records, failed, complete = [], 0, 1
    try:
        with evtx.Evtx(path) as log:
            for record in log.records():
                if limit and len(records) + failed >= limit:
                    complete = 0
                    break
                try:
                    f = fields(record.xml().encode("utf-8"))
                except Exception:  # pylint: disable=broad-except
                    f = None
                if f is None:
                    failed += 1
                else:
                    records.append(f)
    except Exception as e:  # pylint: disable=broad-except
        print("python-evtx\tunavailable\tcannot read the file: %s" % e)
        return
    print("python-evtx\t%d\t%d\t%d" % (len(records), failed, complete))
    for f in records:
        print("pyevent\t%d\t%d\t%s" % (f[0], f[1], microseconds(f[2])))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""pysnmp_tool.py - pysnmp (Debian: python3-pysnmp4) as an SNMP manager that
is independent of Net-SNMP, driven by tests/test_snmp_nms.cc.

  pysnmp_tool.py get     PORT USER AUTHPASS PRIVPASS OID...
  pysnmp_tool.py walk    PORT USER AUTHPASS PRIVPASS OID
  pysnmp_tool.py receive USER AUTHPASS PRIVPASS

get / walk: SNMPv3 authPriv (HMAC-SHA-256 / AES-128) requests to
udp:127.0.0.1:PORT; prints one line per varbind, "OID = TYPE: VALUE" (OID
numeric with a leading dot, TYPE pysnmp's ASN.1 class name, VALUE
prettyPrint()). walk stays inside the subtree of OID (GETNEXT). Exit status
0, or 1 with the error on stderr.

receive: a notification receiver (the authoritative engine, as for informs)
on udp:127.0.0.1 with a port chosen by the system; prints "LISTENING PORT"
first, then for every notification it accepts one line
"NOTIFICATION <json>" with {"security": user, "varbinds": [[oid, type, value]]},
flushed at once. pysnmp acknowledges informs itself (a Response PDU) after the
callback returned. Runs until killed.
"""
import json
import sys

from pysnmp.carrier.asyncore.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.hlapi import (ContextData, ObjectIdentity, ObjectType, SnmpEngine, UdpTransportTarget,
                          UsmUserData, getCmd, nextCmd, usmAesCfb128Protocol,
                          usmHMAC192SHA256AuthProtocol)


def numeric(oid):
    """The numeric OID, with a leading dot, of an ObjectIdentity or ObjectName."""
    name = oid.getOid() if hasattr(oid, "getOid") else oid
    return "." + ".".join(str(arc) for arc in tuple(name))


def line(oid, value):
    return "%s = %s: %s" % (numeric(oid), value.__class__.__name__, value.prettyPrint())


def user_data(user, authpass, privpass):
    return UsmUserData(user, authpass, privpass, authProtocol=usmHMAC192SHA256AuthProtocol,
                       privProtocol=usmAesCfb128Protocol)


def target(port):
    return UdpTransportTarget(("127.0.0.1", int(port)), timeout=2, retries=1)


def get(port, user, authpass, privpass, oids):
    it = getCmd(SnmpEngine(), user_data(user, authpass, privpass), target(port), ContextData(),
                *[ObjectType(ObjectIdentity(o)) for o in oids])
    error_indication, error_status, error_index, varbinds = next(it)
    if error_indication:
        print("error: %s" % error_indication, file=sys.stderr)
        return 1
    if error_status:
        print("error: %s at %s" % (error_status.prettyPrint(), error_index), file=sys.stderr)
        return 1
    for oid, value in varbinds:
        print(line(oid, value))
    return 0


def walk(port, user, authpass, privpass, oid):
    for error_indication, error_status, error_index, varbinds in nextCmd(
            SnmpEngine(), user_data(user, authpass, privpass), target(port), ContextData(),
            ObjectType(ObjectIdentity(oid)), lexicographicMode=False):
        if error_indication:
            print("error: %s" % error_indication, file=sys.stderr)
            return 1
        if error_status:
            print("error: %s at %s" % (error_status.prettyPrint(), error_index), file=sys.stderr)
            return 1
        for o, value in varbinds:
            print(line(o, value))
    return 0


def receive(user, authpass, privpass):
    snmp_engine = engine.SnmpEngine()
    config.addTransport(snmp_engine, udp.domainName,
                        udp.UdpTransport().openServerMode(("127.0.0.1", 0)))
    config.addV3User(snmp_engine, user, usmHMAC192SHA256AuthProtocol, authpass,
                     usmAesCfb128Protocol, privpass)
    transport = snmp_engine.transportDispatcher.getTransport(udp.domainName)
    print("LISTENING %d" % transport.socket.getsockname()[1], flush=True)

    def on_notification(snmp_engine, state_reference, context_engine_id, context_name, varbinds,
                        cb_ctx):
        exec_context = snmp_engine.observer.getExecutionContext(
            "rfc3412.receiveMessage:request")
        out = {
            "security": str(exec_context.get("securityName", "")),
            "level": int(exec_context.get("securityLevel", 0)),
            "pdu": exec_context.get("pdu").__class__.__name__ if exec_context.get("pdu") else "",
            "varbinds": [[numeric(o), v.__class__.__name__, v.prettyPrint()]
                         for o, v in varbinds],
        }
        print("NOTIFICATION " + json.dumps(out), flush=True)

    ntfrcv.NotificationReceiver(snmp_engine, on_notification)
    snmp_engine.transportDispatcher.jobStarted(1)
    try:
        snmp_engine.transportDispatcher.runDispatcher()
    finally:
        snmp_engine.transportDispatcher.closeDispatcher()
    return 0


def main(argv):
    if len(argv) >= 6 and argv[1] == "get":
        return get(argv[2], argv[3], argv[4], argv[5], argv[6:])
    if len(argv) == 7 and argv[1] == "walk":
        return walk(*argv[2:])
    if len(argv) == 5 and argv[1] == "receive":
        return receive(*argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

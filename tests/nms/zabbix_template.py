#!/usr/bin/python3
"""zabbix_template.py FILE - checks a Zabbix 6.0 template export (YAML) as
far as it can be checked without a Zabbix server, for
tests/test_snmp_nms.cc, and prints the SNMP OIDs it polls:

  GET OID     an item's or item prototype's snmp_oid ({#SNMPINDEX} kept)
  WALK OID    a column a discovery rule's discovery[...] walks

Checked: zabbix_export.version is '6.0'; every uuid is 32 lowercase hex
digits and unique; groups, templates, items, discovery rules, item and
trigger prototypes, triggers and value maps have the fields Zabbix's importer
requires, with known enumeration values; every item key is unique in its
template; a trigger expression refers to /TEMPLATE/KEY of this template
only; every value map an item names exists; SNMP trap items' regular
expressions match the texts snmptrapd (with and without MDM-HEALTH-MIB) and
the shipped snmptt configuration produce for their notification and no
other. Exit status 0, or 1 with every problem on stderr.
"""
import re
import sys

import yaml

ITEM_TYPES = {"SNMP_AGENT", "SNMP_TRAP", "INTERNAL", "SIMPLE", "CALCULATED", "DEPENDENT"}
VALUE_TYPES = {"FLOAT", "CHAR", "LOG", "TEXT"}  # absent = UNSIGNED (the default)
PRIORITIES = {"NOT_CLASSIFIED", "INFO", "WARNING", "AVERAGE", "HIGH", "DISASTER"}
UUID = re.compile(r"^[0-9a-f]{32}$")
# What a trap receiver writes for each notification: snmptrapd with the MIB
# (names), without (numeric OIDs), and snmptt's FORMAT from
# nms/snmptt/mdmhealth.snmptt.conf.
TRAP_TEXTS = {
    "raised": ["MDM-HEALTH-MIB::mdmAlertRaised", ".1.3.6.1.4.1.8072.9999.9999.0.1 ",
               "mdmhealth alert raised: target DM01"],
    "resolved": ["MDM-HEALTH-MIB::mdmAlertResolved", ".1.3.6.1.4.1.8072.9999.9999.0.2 ",
                 "mdmhealth alert resolved: target DM01"],
    "diagnosis": ["MDM-HEALTH-MIB::mdmDiagnosis", ".1.3.6.1.4.1.8072.9999.9999.0.3 ",
                  "mdmhealth diagnosis: target DM01"],
}

problems = []
uuids = set()


def problem(where, what):
    problems.append("%s: %s" % (where, what))


def need(obj, where, *fields):
    for f in fields:
        if f not in obj or obj[f] in (None, ""):
            problem(where, "missing '%s'" % f)


def uuid(obj, where):
    u = obj.get("uuid", "")
    if not UUID.match(str(u)):
        problem(where, "uuid %r is not 32 lowercase hex digits" % u)
    elif u in uuids:
        problem(where, "uuid %s used twice" % u)
    uuids.add(u)


def check_trigger(t, where, template, keys):
    uuid(t, where)
    need(t, where, "expression", "name")
    if t.get("priority", "NOT_CLASSIFIED") not in PRIORITIES:
        problem(where, "unknown priority %r" % t.get("priority"))
    for expr in (t.get("expression", ""), t.get("recovery_expression", "")):
        for host, key in re.findall(r"/([^/]+)/([^,)]+(?:\[[^\]]*\])?)", expr or ""):
            if host != template:
                problem(where, "expression refers to host %r, not %r" % (host, template))
            if key not in keys:
                problem(where, "expression refers to unknown key %r" % key)


def check_item(item, where, template, keys, valuemaps, out, prototype):
    uuid(item, where)
    need(item, where, "name", "key")
    t = item.get("type", "ZABBIX_PASSIVE")
    if t not in ITEM_TYPES:
        problem(where, "unexpected type %r" % t)
    if item.get("value_type", "UNSIGNED") not in VALUE_TYPES | {"UNSIGNED"}:
        problem(where, "unknown value_type %r" % item.get("value_type"))
    if "valuemap" in item and item["valuemap"].get("name") not in valuemaps:
        problem(where, "value map %r is not defined" % item["valuemap"].get("name"))
    if t == "SNMP_AGENT":
        oid = str(item.get("snmp_oid", ""))
        if prototype and not oid.endswith(".{#SNMPINDEX}"):
            problem(where, "prototype OID %r does not end in .{#SNMPINDEX}" % oid)
        if not re.match(r"^[0-9]+(\.[0-9]+)+(\.\{#SNMPINDEX\})?$", oid):
            problem(where, "snmp_oid %r is not a numeric OID" % oid)
        out.append("GET " + oid)
    if t == "SNMP_TRAP" and item["key"] != "snmptrap.fallback":
        m = re.match(r'^snmptrap\["(.*)"\]$', item["key"])
        if not m:
            problem(where, "trap key %r is not snmptrap[\"REGEXP\"]" % item["key"])
        else:
            rx = re.compile(m.group(1))
            which = [w for w in TRAP_TEXTS if w in item["name"].lower()]
            if len(which) != 1:
                problem(where, "cannot tell which notification %r is for" % item["name"])
            for w, texts in TRAP_TEXTS.items():
                for text in texts:
                    if bool(rx.search(text)) != (which == [w]):
                        problem(where, "regexp %r %s %r" % (
                            m.group(1), "misses" if which == [w] else "matches", text))
    for trig in item.get("triggers", []) + item.get("trigger_prototypes", []):
        check_trigger(trig, where + " trigger " + repr(trig.get("name")), template, keys)


def main(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    exp = doc.get("zabbix_export") if isinstance(doc, dict) else None
    if not exp:
        print("%s: no zabbix_export mapping" % path, file=sys.stderr)
        return 1
    if exp.get("version") != "6.0":
        problem(path, "version %r, want '6.0'" % exp.get("version"))
    groups = set()
    for g in exp.get("groups", []):
        uuid(g, "group")
        need(g, "group", "name")
        groups.add(g.get("name"))
    out = []
    for tpl in exp.get("templates", []):
        name = tpl.get("template", "")
        where = "template %r" % name
        uuid(tpl, where)
        need(tpl, where, "template", "name", "groups")
        for g in tpl.get("groups", []):
            if g.get("name") not in groups:
                problem(where, "group %r is not defined" % g.get("name"))
        valuemaps = set()
        for vm in tpl.get("valuemaps", []):
            uuid(vm, "valuemap")
            need(vm, "valuemap", "name", "mappings")
            valuemaps.add(vm.get("name"))
        keys = []
        for item in tpl.get("items", []):
            keys.append(item.get("key"))
        for rule in tpl.get("discovery_rules", []):
            keys.append(rule.get("key"))
            for p in rule.get("item_prototypes", []):
                keys.append(p.get("key"))
        for k in set(keys):
            if keys.count(k) > 1:
                problem(where, "key %r used %d times" % (k, keys.count(k)))
        for item in tpl.get("items", []):
            check_item(item, where + " item " + repr(item.get("name")), name, keys, valuemaps,
                       out, False)
        for rule in tpl.get("discovery_rules", []):
            rw = where + " discovery rule " + repr(rule.get("name"))
            uuid(rule, rw)
            need(rule, rw, "name", "key", "snmp_oid", "item_prototypes")
            m = re.match(r"^discovery\[(.*)\]$", str(rule.get("snmp_oid", "")))
            parts = m.group(1).split(",") if m else []
            if not m or len(parts) % 2 or len(parts) == 0:
                problem(rw, "snmp_oid is not discovery[{#MACRO},OID,...]")
            for macro, oid in zip(parts[0::2], parts[1::2]):
                if not re.match(r"^\{#[A-Z0-9_.]+\}$", macro):
                    problem(rw, "bad LLD macro %r" % macro)
                out.append("WALK " + oid)
            for p in rule.get("item_prototypes", []):
                check_item(p, rw + " prototype " + repr(p.get("name")), name, keys, valuemaps,
                           out, True)
    for trig in exp.get("triggers", []):
        check_trigger(trig, "trigger " + repr(trig.get("name")), "", [])
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))

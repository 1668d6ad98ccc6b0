#!/usr/bin/env python3
"""Sanity checks for bw-gen output (not part of the timed benchmark). Standard library only.

    python3 check_gen.py sal FILE
    python3 check_gen.py cloudtrail FILE [EXPECTED_RECORDS]

sal: every line must match the AWS Athena regex (sal_regex.py), except CloudFront Origin Access
Identity lines, whose requester contains spaces; those must match the same regex with the
requester group widened to that form. Prints the field-count, operation and length mix.

cloudtrail: the file (plain or gzip) must be one JSON object {"Records": [...]} whose records have
the fields the parsers rely on. Prints the record count and the event/identity mix.

Exit status 1 when a check fails.
"""

import collections
import gzip
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sal_regex import ATHENA_SAL_REGEX, COLUMNS  # noqa: E402

OAI = "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity "


def tokens(line):
    """Field count with the lexical rules of log-formats.md §1.4 (bracketed time, quoted fields
    that close at a quote followed by a space, the OAI requester)."""
    n = 0
    i = 0
    L = len(line)
    while i < L:
        if line[i] == "[":
            i = line.index("] ", i) + 2 if "] " in line[i:] else L
        elif line[i] == '"':
            j = line.find('" ', i + 1)
            i = j + 2 if j >= 0 else L
        elif line.startswith(OAI, i):
            i = line.find(" ", i + len(OAI)) + 1 or L
        else:
            j = line.find(" ", i)
            i = j + 1 if j >= 0 else L
        n += 1
    return n


def check_sal(path):
    athena = re.compile(ATHENA_SAL_REGEX)
    oai_re = re.compile(ATHENA_SAL_REGEX.replace(
        "([^ ]*) ([^ ]*) \\[(.*?)\\] ([^ ]*) ([^ ]*) ",
        "([^ ]*) ([^ ]*) \\[(.*?)\\] ([^ ]*) (" + re.escape(OAI) + "[A-Z0-9]+) ", 1))
    ok = True
    lines = matched = oai = 0
    nfields = collections.Counter()
    ops = collections.Counter()
    ua_len = []
    total = 0
    ipv6 = dash_ip = anon = status_dash = 0
    tmin, tmax = "99", "00"
    f = open(path, "rb")
    for raw in f:
        lines += 1
        total += len(raw)
        if not raw.endswith(b"\n"):
            print(f"sal: line {lines} is not newline-terminated")
            ok = False
        line = raw.rstrip(b"\n").decode("utf-8")
        m = athena.match(line)
        if m is None:
            m = oai_re.match(line)
            if m is None or not m.group(5).startswith(OAI):
                if ok:
                    print(f"sal: line {lines} does not match the Athena regex: {line[:300]}")
                ok = False
                continue
            oai += 1
        else:
            matched += 1
        g = dict(zip(COLUMNS, m.groups()))
        nfields[tokens(line)] += 1
        ops[g["operation"]] += 1
        if g["useragent"] not in ("-", '"-"'):
            ua_len.append(len(g["useragent"]) - 2)
        ipv6 += ":" in g["remoteip"]
        dash_ip += g["remoteip"] == "-"
        anon += g["requester"] == "-"
        status_dash += g["httpstatus"] == "-"
        t = g["requestdatetime"][12:20]
        tmin = min(tmin, t)
        tmax = max(tmax, t)
    f.close()
    bad_counts = {k: v for k, v in nfields.items() if k not in (24, 26, 27)}
    if bad_counts:
        print(f"sal: unexpected field counts {bad_counts}")
        ok = False
    ua_len.sort()
    print(f"sal: lines={lines} athena_regex_matched={matched} oai_lines(regex needs widening)={oai} "
          f"avg_line={total / max(lines, 1):.0f}")
    print(f"sal: fields {dict(sorted(nfields.items()))}  ipv6={ipv6} remoteip_dash={dash_ip} "
          f"anonymous={anon} status_dash={status_dash}")
    if ua_len:
        q = lambda p: ua_len[min(len(ua_len) - 1, int(p * len(ua_len)))]  # noqa: E731
        print(f"sal: user agent bytes p10={q(0.1)} p50={q(0.5)} p90={q(0.9)} max={ua_len[-1]}")
    print(f"sal: time range {tmin}..{tmax}")
    print("sal: operations " + ", ".join(f"{k}={v}" for k, v in ops.most_common()))
    return ok


REQUIRED = ("eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
            "sourceIPAddress", "userAgent", "requestID", "eventID", "eventType", "recipientAccountId",
            "eventCategory")
TIME_RE = re.compile(r"^2019-02-06T\d\d:\d\d:\d\dZ$")


def check_cloudtrail(path, expected):
    ok = True
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    doc = json.loads(raw)
    if list(doc) != ["Records"]:
        print(f"cloudtrail: top-level keys {list(doc)}")
        ok = False
    recs = doc["Records"]
    names = collections.Counter()
    kinds = collections.Counter()
    cats = collections.Counter()
    for i, r in enumerate(recs):
        missing = [k for k in REQUIRED if k not in r]
        if missing or not TIME_RE.match(r.get("eventTime", "")):
            if ok:
                print(f"cloudtrail: record {i} missing {missing} or bad eventTime: {json.dumps(r)[:300]}")
            ok = False
        names[r.get("eventName")] += 1
        kinds[r.get("userIdentity", {}).get("type")] += 1
        cats[r.get("eventCategory")] += 1
    if expected is not None and expected != len(recs):
        print(f"cloudtrail: expected {expected} records, found {len(recs)}")
        ok = False
    print(f"cloudtrail: records={len(recs)} bytes={len(raw)} avg_record={len(raw) / max(len(recs), 1):.0f} "
          f"categories={dict(cats)}")
    print("cloudtrail: identities " + ", ".join(f"{k}={v}" for k, v in kinds.most_common()))
    print("cloudtrail: events " + ", ".join(f"{k}={v}" for k, v in names.most_common()))
    return ok


def main(argv):
    if len(argv) < 3 or argv[1] not in ("sal", "cloudtrail"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if argv[1] == "sal":
        ok = check_sal(argv[2])
    else:
        ok = check_cloudtrail(argv[2], int(argv[3]) if len(argv) > 3 else None)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

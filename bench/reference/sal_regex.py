#!/usr/bin/env python3
"""Python reference for the S3 server access log parse benchmark.

Applies the regular expression from AWS's Athena documentation ("Querying Amazon S3 server access
logs", the `input.regex` SerDe property of the `s3_access_logs_db.mybucket_logs` table) to every
line, builds a dict of the table's 26 named columns from its groups and writes `json.dumps` of
each dict as one line to stdout. Standard library only.

    python3 sal_regex.py FILE > /dev/null

A one-line summary goes to stderr. Lines the regex does not match are counted, not written (the
documented regex does not match, for example, CloudFront OAI requesters that contain spaces).

This is deliberately the simplest faithful reading of the documented approach: the groups are
kept as strings (including "-"), as Athena's string columns would hold them; no type conversion,
no timestamp parsing. That makes it a generous (fast) baseline for a speed comparison.
"""

import json
import re
import sys
import time

# The Athena documentation gives the regex inside a Hive string literal; with the Hive escaping
# removed (`\\[` -> `\[`, `\"` -> `"`) it reads as below. 26 groups; the last eight are optional
# (a 24-field line does not have the eight tokens the optional group needs, so its fields 19-24
# end up in the trailing `.*`, exactly as in Athena).
ATHENA_SAL_REGEX = (
    r'([^ ]*) ([^ ]*) \[(.*?)\] ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) (-|[0-9]*) '
    r'([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) ([^ ]*)'
    r'(?: ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*))?.*$'
)

# Column names of the documented Athena table, in group order.
COLUMNS = (
    "bucketowner",
    "bucket_name",
    "requestdatetime",
    "remoteip",
    "requester",
    "requestid",
    "operation",
    "key",
    "request_uri",
    "httpstatus",
    "errorcode",
    "bytessent",
    "objectsize",
    "totaltime",
    "turnaroundtime",
    "referrer",
    "useragent",
    "versionid",
    "hostid",
    "sigv",
    "ciphersuite",
    "authtype",
    "endpoint",
    "tlsversion",
    "accesspointarn",
    "aclrequired",
)


def main(argv):
    if len(argv) != 2:
        print("usage: sal_regex.py FILE", file=sys.stderr)
        return 2
    path = argv[1]
    match = re.compile(ATHENA_SAL_REGEX).match
    dumps = json.dumps
    write = sys.stdout.write
    columns = COLUMNS
    assert re.compile(ATHENA_SAL_REGEX).groups == len(columns)

    start = time.perf_counter()
    lines = matched = nbytes = 0
    # surrogateescape: S3 access logs are not guaranteed to be UTF-8.
    with open(path, encoding="utf-8", errors="surrogateescape", newline="\n") as f:
        for line in f:
            lines += 1
            nbytes += len(line)
            m = match(line.rstrip("\r\n"))
            if m is None:
                continue
            matched += 1
            write(dumps(dict(zip(columns, m.groups()))))
            write("\n")
    sys.stdout.flush()
    secs = time.perf_counter() - start
    print(
        f"sal_regex.py: lines={lines} matched={matched} unmatched={lines - matched} "
        f"chars={nbytes} seconds={secs:.2f}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Python reference for the CloudTrail parse benchmark.

`json.load` of a whole CloudTrail log file (`{"Records":[...]}`), then `json.dumps` of each record
as one line to stdout. Gzip input (magic bytes 1f 8b) is decompressed with the gzip module.
Standard library only.

    python3 cloudtrail_json.py FILE > /dev/null

A one-line summary goes to stderr. Memory grows with the file: the whole document is held as
Python objects, which is why the benchmark runs this on a smaller file than the Rust parser.
"""

import gzip
import json
import sys
import time


def main(argv):
    if len(argv) != 2:
        print("usage: cloudtrail_json.py FILE", file=sys.stderr)
        return 2
    path = argv[1]
    start = time.perf_counter()
    with open(path, "rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        f = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw
        doc = json.load(f)
    loaded = time.perf_counter()
    dumps = json.dumps
    write = sys.stdout.write
    records = 0
    for record in doc["Records"]:
        write(dumps(record))
        write("\n")
        records += 1
    sys.stdout.flush()
    end = time.perf_counter()
    print(
        f"cloudtrail_json.py: records={records} load_seconds={loaded - start:.2f} "
        f"dump_seconds={end - loaded:.2f} seconds={end - start:.2f}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

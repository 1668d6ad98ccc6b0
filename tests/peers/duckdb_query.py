"""Runs one SQL query with DuckDB and its delta extension over bucketwatch lake tables.

The independent reader of the lake's openness test: `{logs.aws_cloudtrail}` in the SQL becomes
`delta_scan('<lake>/logs/aws_cloudtrail')`. Prints the result as CSV with a header, in the
order the query gives.

usage: duckdb_query.py LAKE_DIR SQL
"""

import csv
import glob
import os
import re
import sys

import duckdb


def delta_extension() -> str:
    site = os.path.join(sys.prefix, "lib", "python*", "site-packages")
    found = glob.glob(os.path.join(site, "duckdb_ext", "extensions", "*", "*", "delta.duckdb_extension"))
    if not found:
        sys.exit("duckdb_query.py: the delta extension is missing; run ./scripts/test to install tests/requirements.txt")
    return found[0]


def main() -> None:
    lake, sql = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    con.execute(f"LOAD '{delta_extension()}'")

    def table(match: re.Match) -> str:
        path = os.path.join(lake, *match.group(1).split("."))
        return f"delta_scan('{path}')"

    rows = con.execute(re.sub(r"\{([a-z0-9_]+\.[a-z0-9_]+)\}", table, sql))
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow([d[0] for d in rows.description])
    for row in rows.fetchall():
        out.writerow(["" if v is None else v for v in row])


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Compare `bucketwatch scan --format json` with Prowler's S3 checks (json-ocsf) on one state.

Usage: compare.py BUCKETWATCH_JSON PROWLER_OCSF_JSON [--strict]

Prints Markdown on stdout:

1. Findings per Prowler check (PASS / FAIL / MANUAL) and bucketwatch results per status.
2. Per mapped pair (a Prowler check and the bucketwatch policy that answers the same question,
   see PAIRS): resources compared, agreements, disagreements by direction, and resources only
   one side reported on.
3. Every kind of disagreement: Prowler check, bucket configuration (the `bench-*` mix of
   make_buckets.BASE_KINDS or the `peer-NN-*` fixture), count, one example bucket with both
   tools' reasons, and the verdict of VERDICTS (who is right, and why in AWS terms). A kind with
   no verdict is printed as UNREVIEWED: someone has to look at it and add one.
4. Totals by verdict; the line `bucketwatch wrong: K` is what the issue's target is about.

Status mapping: Prowler PASS/FAIL/MANUAL = bucketwatch pass/fail/unknown; a bucketwatch result
marked suppressed keeps its status. Exit status 0; with --strict 3 when a disagreement is
UNREVIEWED or judged against bucketwatch. Standard library only (BASE_KINDS is imported from
make_buckets.py beside this file, which needs boto3 only when run).
"""

import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_buckets import BASE_KINDS  # noqa: E402


# --- what bucketwatch says, per question ----------------------------------------------------
# A "verdict" function gets (results of one resource by policy id, the resource) and returns
# pass / fail / unknown / error, or None when bucketwatch has no result for it.


def policy(pid):
    def verdict(results, _resource):
        r = results.get(pid)
        return r["status"] if r else None

    verdict.label = pid
    return verdict


def any_fail(*pids):
    """Fail when any of the policies fails: Prowler's "public" is read or write."""

    def verdict(results, _resource):
        statuses = [results[p]["status"] for p in pids if p in results]
        if not statuses:
            return None
        for s in ("fail", "error", "unknown"):
            if s in statuses:
                return s
        return "pass"

    verdict.label = " or ".join(pids)
    return verdict


def acl_direction(direction):
    """AWS.S3.Bucket.PublicReadWriteACL, for grants of one direction (Prowler splits them)."""

    def verdict(results, resource):
        r = results.get("AWS.S3.Bucket.PublicReadWriteACL")
        if not r:
            return None
        if r["status"] != "fail":
            return r["status"]
        return "fail" if (resource.get("bucketwatch") or {}).get(f"AclPublic{direction}") else "pass"

    verdict.label = f"AWS.S3.Bucket.PublicReadWriteACL ({direction.lower()} grants)"
    return verdict


def policy_part_of_public_write(results, resource):
    """AWS.S3.Bucket.PublicWrite when the policy is the cause (Prowler's check reads only it)."""
    r = results.get("AWS.S3.Bucket.PublicWrite")
    if not r:
        return None
    if r["status"] != "fail":
        return r["status"]
    reasons = (resource.get("bucketwatch") or {}).get("PublicWriteReasons") or []
    return "fail" if any(x.startswith("the policy") for x in reasons) else "pass"


policy_part_of_public_write.label = "AWS.S3.Bucket.PublicWrite (policy cause)"

# Prowler check -> (bucketwatch verdict, Security Hub control the pair stands for).
PAIRS = {
    "s3_account_level_public_access_blocks": (policy("AWS.S3.Account.PublicAccessBlock"), "S3.1"),
    "s3_bucket_public_access": (any_fail("AWS.S3.Bucket.PublicRead", "AWS.S3.Bucket.PublicWrite"), "S3.2/S3.3"),
    "s3_bucket_public_list_acl": (acl_direction("Read"), "S3.2 (ACL)"),
    "s3_bucket_public_write_acl": (acl_direction("Write"), "S3.3 (ACL)"),
    "s3_bucket_policy_public_write_access": (policy_part_of_public_write, "S3.3 (policy)"),
    "s3_bucket_secure_transport_policy": (policy("AWS.S3.Bucket.SecureAccess"), "S3.5"),
    "s3_bucket_cross_account_access": (policy("AWS.S3.Bucket.CrossAccountAdminActions"), "S3.6"),
    "s3_bucket_cross_region_replication": (policy("AWS.S3.Bucket.CrossRegionReplication"), "S3.7"),
    "s3_bucket_level_public_access_block": (policy("AWS.S3.Bucket.PublicAccessBlock"), "S3.8"),
    "s3_bucket_server_access_logging_enabled": (policy("AWS.S3.Bucket.Logging"), "S3.9"),
    "s3_bucket_event_notifications_enabled": (policy("AWS.S3.Bucket.EventNotifications"), "S3.11"),
    "s3_bucket_acl_prohibited": (policy("AWS.S3.Bucket.ACLsDisabled"), "S3.12"),
    "s3_bucket_lifecycle_enabled": (policy("AWS.S3.Bucket.Lifecycle"), "S3.13"),
    "s3_bucket_object_versioning": (policy("AWS.S3.Bucket.Versioning"), "S3.14"),
    "s3_bucket_object_lock": (policy("AWS.S3.Bucket.ObjectLock"), "S3.15"),
    "s3_bucket_kms_encryption": (policy("AWS.S3.Bucket.KMSEncryption"), "S3.17"),
    "s3_bucket_no_mfa_delete": (policy("AWS.S3.Bucket.MFADelete"), "S3.20"),
    "s3_bucket_default_encryption": (policy("AWS.S3.Bucket.Encryption"), "(S3.4, retired)"),
}
# Prowler S3 checks with no bucketwatch counterpart, and why.
UNPAIRED_PROWLER = {
    "s3_access_point_public_access_block": "S3.19; no access points in this moto state (bucketwatch checks them on their bucket: AWS.S3.Bucket.AccessPointPublicAccessBlock)",
    "s3_multi_region_access_point_public_access_block": "S3.24; not in bucketwatch (no MRAPs here)",
    "s3_bucket_object_public": "samples object ACLs; off unless enabled in Prowler's config",
    "s3_bucket_shadow_resource_vulnerability": "only reports buckets named like Glue/SageMaker/EMR/CodeStar service buckets; none here",
}

# --- verdicts on each kind of disagreement ---------------------------------------------------
# (Prowler check, bucket configuration) -> (who is right: "bucketwatch" | "Prowler" | "neither",
# one-line reason in AWS terms). Written after reading both tools' output and the bucket's
# configuration; the configuration names are make_buckets.BASE_KINDS and the peer fixture slugs.
# A configuration of "*" covers every configuration of that check with no entry of its own
# (one cause, whatever else the bucket has); such disagreements are reported as one row.
VERDICTS = {
    ("s3_bucket_acl_prohibited", "*"): (
        "bucketwatch",
        "S3.12 (Config rule s3-bucket-acl-prohibited) fails only when an ACL grants access to "
        "someone other than the owner; these ACLs hold just the owner's FULL_CONTROL. Prowler "
        "fails every bucket whose object ownership is not BucketOwnerEnforced, a stricter "
        "hardening check that it maps to S3.12 (moto sets no ownership controls; on AWS new "
        "buckets have BucketOwnerEnforced since April 2023)"),
    ("s3_bucket_cross_account_access", "*"): (
        "bucketwatch",
        "S3.6 fails only when another account or everyone may call s3:DeleteBucketPolicy, "
        "PutBucketAcl, PutBucketPolicy, PutEncryptionConfiguration or PutObjectAcl; these "
        "policies grant only s3:GetObject or s3:PutObject. Prowler fails any policy its "
        "is_policy_public finds public or cross-account, and maps that to S3.6 and S3.7"),
    ("s3_bucket_cross_account_access", "wildcard-role-principal"): (
        "bucketwatch",
        "the only principal is arn:aws:iam::<owner>:role/* (the owner's own account; AWS "
        "rejects a wildcard there on write) and the action is s3:GetObject; Prowler's "
        "has_public_principal finds the substring '*' in the ARN and calls it public"),
    ("s3_bucket_public_access", "wildcard-role-principal"): (
        "bucketwatch",
        "Principal arn:aws:iam::<owner>:role/* names only the owner account (and AWS rejects "
        "it on write; bucketwatch lists it as a malformed principal); Prowler's substring test "
        "for '*' calls it public (reference #8)"),
    ("s3_bucket_public_access", "public-with-org-deny"): (
        "bucketwatch",
        "the explicit Deny for callers outside the organization wins over the public Allow, so "
        "no stranger gets in; Prowler's is_policy_public reads Allow statements only "
        "(reference #7)"),
    ("s3_bucket_public_access", "acl-public-ignore-acls"): (
        "bucketwatch",
        "IgnorePublicAcls on the bucket makes S3 ignore the AllUsers READ grant; Prowler only "
        "credits IgnorePublicAcls together with RestrictPublicBuckets (reference #14)"),
    ("s3_bucket_public_list_acl", "acl-public-ignore-acls"): (
        "bucketwatch",
        "IgnorePublicAcls on the bucket makes S3 ignore the AllUsers READ grant; Prowler only "
        "credits IgnorePublicAcls together with RestrictPublicBuckets (reference #14)"),
    ("s3_bucket_public_access", "policy-public-restrict"): (
        "bucketwatch",
        "RestrictPublicBuckets on the bucket limits a public policy to AWS services and the "
        "owner account, so the s3:GetObject to '*' reaches no stranger; Prowler only credits "
        "it together with IgnorePublicAcls"),
    ("s3_bucket_policy_public_write_access", "policy-public-notaction"): (
        "bucketwatch",
        "Allow with NotAction s3:DeleteBucket and Principal '*' grants every other action, "
        "s3:PutObject and s3:DeleteObject included, to anyone; Prowler's write check skips "
        "statements without an Action element"),
    ("s3_bucket_secure_transport_policy", "deny-http-get-only"): (
        "bucketwatch",
        "the Deny covers s3:Get* only, so plain-HTTP PutObject and DeleteObject are still "
        "allowed; Prowler passes because the action string contains '*' (reference #1)"),
    ("s3_bucket_secure_transport_policy", "deny-http-bucket-arn-only"): (
        "bucketwatch",
        "the Deny names only the bucket ARN, not bucket/*, so object reads and writes over "
        "HTTP are not denied; Prowler ignores Resource (reference #2)"),
    ("s3_bucket_secure_transport_policy", "deny-http-boolifexists"): (
        "bucketwatch",
        "BoolIfExists aws:SecureTransport false denies HTTP exactly as Bool does (the key is "
        "always present); Prowler only recognises the operator Bool (reference #3)"),
    ("s3_bucket_secure_transport_policy", "deny-http-json-false"): (
        "bucketwatch",
        "IAM compares condition values as strings, so JSON false is \"false\"; Prowler "
        "compares with the string only (reference #3)"),
    ("s3_bucket_secure_transport_policy", "deny-http-list-value"): (
        "bucketwatch",
        "a one-element list [\"false\"] is the same condition; Prowler compares the whole "
        "value with the string \"false\" (reference #3)"),
    ("s3_bucket_secure_transport_policy", "deny-http-lowercase-key"): (
        "bucketwatch",
        "condition keys are case-insensitive in IAM, so aws:securetransport is "
        "aws:SecureTransport; Prowler matches the key case-sensitively (reference #3)"),
    ("s3_bucket_level_public_access_block", "bpa-ignore-restrict-only"): (
        "bucketwatch",
        "S3.8 fails when any of the four bucket-level flags is false, and BlockPublicAcls and "
        "BlockPublicPolicy are off here; Prowler passes on IgnorePublicAcls + "
        "RestrictPublicBuckets"),
    ("s3_bucket_no_mfa_delete", "lifecycle"): (
        "bucketwatch",
        "S3.20 makes no finding for buckets with a lifecycle configuration (MFA delete cannot be "
        "enabled on them); Prowler fails them. bucketwatch records pass where Security Hub "
        "records nothing, which a CIS 2.1.2 reader should not take for MFA delete being on"),
    ("s3_bucket_no_mfa_delete", "lifecycle-disabled-rule"): (
        "bucketwatch",
        "as for lifecycle: the bucket has a lifecycle configuration, even if its only rule is "
        "Disabled, so S3.20 makes no finding"),
    ("s3_bucket_lifecycle_enabled", "lifecycle-disabled-rule"): (
        "Prowler",
        "S3.13 (Config rule s3-lifecycle-policy-check) is NON_COMPLIANT when no lifecycle rule "
        "is active, and the only rule here is Disabled; bucketwatch's AWS.S3.Bucket.Lifecycle "
        "passes any configuration. A bucketwatch defect (AWS.S3.Bucket.VersionedLifecycle, "
        "S3.10, reads the field the same way)"),
}


# --- reading the two reports -----------------------------------------------------------------


def kind_of(name):
    if name is None:
        return "account"
    if name.startswith("bench-") and name[6:].isdigit():
        return BASE_KINDS[int(name[6:]) % 10]
    if name.startswith("peer-00-"):
        return name[len("peer-00-"):]
    if name.startswith("peer-") and name[5:7].isdigit():
        return name[8:]
    return name


def load_bucketwatch(path):
    report = json.load(open(path))
    resources = {r["ResourceId"]: r for r in report["resources"]}
    results = collections.defaultdict(dict)
    for r in report["results"]:
        results[r["resource_id"]][r["policy_id"]] = r
    # key: bucket name, or None for the account
    by_key = {}
    for rid, res in resources.items():
        key = None if res["ResourceType"] == "AWS.S3.Account" else res.get("Name")
        by_key[key] = (results.get(rid, {}), res)
    return report, by_key


PROWLER_STATUS = {"PASS": "pass", "FAIL": "fail", "MANUAL": "unknown"}


def load_prowler(path):
    findings = json.load(open(path))
    by_check = collections.defaultdict(dict)
    for f in findings:
        check = f["metadata"]["event_code"]
        uid = f["resources"][0].get("uid", "") if f.get("resources") else ""
        # Bucket findings carry the bucket ARN; account findings arn:aws:s3:REGION:ACCOUNT:account.
        key = None if uid.endswith(":account") else uid.split(":::", 1)[-1]
        by_check[check][key] = (PROWLER_STATUS.get(f["status_code"], f["status_code"].lower()),
                                f.get("status_detail") or f.get("message") or "")
    return findings, by_check


def reason_of(results, verdict):
    """The reason text of the bucketwatch result(s) behind a verdict, for the examples."""
    texts = [r.get("reason") or "" for pid, r in results.items() if pid in verdict.label]
    return "; ".join(t for t in texts if t) or "(pass)"


def md(text, limit=160):
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main():
    args = [a for a in sys.argv[1:] if a != "--strict"]
    strict = "--strict" in sys.argv[1:]
    if len(args) != 2:
        sys.exit("usage: compare.py BUCKETWATCH_JSON PROWLER_OCSF_JSON [--strict]")
    bw_report, bw = load_bucketwatch(args[0])
    prowler_findings, prowler = load_prowler(args[1])

    print("### Findings\n")
    print("| tool | findings | pass | fail | manual/unknown | error |")
    print("|---|---|---|---|---|---|")
    pc = collections.Counter(PROWLER_STATUS.get(f["status_code"], "?") for f in prowler_findings)
    print(f"| Prowler (S3 service, {len(prowler)} checks with findings) | {len(prowler_findings)} | "
          f"{pc['pass']} | {pc['fail']} | {pc['unknown']} | – |")
    bc = collections.Counter(r["status"] for r in bw_report["results"])
    policies = {r["policy_id"] for r in bw_report["results"]}
    print(f"| bucketwatch ({len(policies)} policies) | {len(bw_report['results'])} | {bc['pass']} | "
          f"{bc['fail']} | {bc['unknown']} | {bc['error']} |")

    print("\n### Mapped pairs\n")
    print("| Prowler check | bucketwatch | control | compared | agree | Prowler FAIL, bw pass | "
          "Prowler PASS, bw fail | other | only Prowler | only bw |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    disagreements = collections.defaultdict(list)  # (check, kind, p, b) -> [bucket]
    examples = {}
    totals = collections.Counter()
    for check, (verdict, control) in PAIRS.items():
        p_side = prowler.get(check, {})
        c = collections.Counter()
        for key, (bw_results, resource) in sorted(bw.items(), key=lambda kv: kv[0] or ""):
            b = verdict(bw_results, resource)
            if b is None:
                continue
            if key not in p_side:
                c["only_bw"] += 1
                continue
            p, p_reason = p_side[key]
            c["compared"] += 1
            if p == b:
                c["agree"] += 1
                continue
            direction = {("fail", "pass"): "p_fail", ("pass", "fail"): "p_pass"}.get((p, b), "other")
            c[direction] += 1
            k = (check, kind_of(key), p, b)
            disagreements[k].append(key or "account")
            examples.setdefault(k, (key or "account", p_reason, reason_of(bw_results, verdict)))
        c["only_prowler"] = sum(1 for key in p_side if key not in bw)
        totals.update(c)
        print(f"| `{check}` | `{verdict.label}` | {control} | {c['compared']} | {c['agree']} | "
              f"{c['p_fail']} | {c['p_pass']} | {c['other']} | {c['only_prowler']} | {c['only_bw']} |")
    print(f"| **all pairs** | | | {totals['compared']} | {totals['agree']} | {totals['p_fail']} | "
          f"{totals['p_pass']} | {totals['other']} | {totals['only_prowler']} | {totals['only_bw']} |")

    unpaired = sorted(set(prowler) - set(PAIRS))
    if unpaired:
        print("\nProwler checks with findings but no bucketwatch pair: "
              + ", ".join(f"`{c}` ({len(prowler[c])})" for c in unpaired))
    silent = [c for c in PAIRS if c not in prowler]
    if silent:
        print("\nPaired Prowler checks that reported nothing: " + ", ".join(f"`{c}`" for c in silent))
    print("\nProwler S3 checks without a pair: "
          + "; ".join(f"`{c}`: {why}" for c, why in UNPAIRED_PROWLER.items()))

    print("\n### Disagreements\n")
    by_verdict = collections.Counter()
    rows = {}
    if not disagreements:
        print("None.")
    else:
        print("| Prowler check | configuration | Prowler → bw | buckets | example | Prowler says | "
              "bucketwatch says | right | why |")
        print("|---|---|---|---|---|---|---|---|---|")
        # Rows: one per (check, configuration, direction), except that configurations judged by
        # a "*" verdict are merged into one row per check and direction.
        rows = collections.OrderedDict()  # dicts keep insertion order; the name says it matters
        for k in sorted(disagreements):
            check, kind, p, b = k
            if (check, kind) in VERDICTS:
                row, verdict = k, VERDICTS[(check, kind)]
            elif (check, "*") in VERDICTS:
                row, verdict = (check, "*", p, b), VERDICTS[(check, "*")]
            else:
                row, verdict = k, ("UNREVIEWED", "no verdict recorded in compare.py")
            entry = rows.setdefault(row, {"kinds": [], "buckets": [], "verdict": verdict,
                                          "example": examples[k]})
            entry["kinds"].append(kind)
            entry["buckets"].extend(disagreements[k])
        for (check, kind, p, b), entry in rows.items():
            who, why = entry["verdict"]
            by_verdict[who] += len(entry["buckets"])
            kinds = entry["kinds"]
            label = kind if kind != "*" else (
                f"any ({len(kinds)} configurations: {', '.join(kinds[:4])}"
                + (", …)" if len(kinds) > 4 else ")"))
            example, p_reason, b_reason = entry["example"]
            print(f"| `{check}` | {md(label, 120)} | {p} → {b} | {len(entry['buckets'])} | {example} | "
                  f"{md(p_reason)} | {md(b_reason)} | **{who}** | {md(why, 600)} |")
    n = sum(len(v) for v in disagreements.values())
    print(f"\nDisagreements: {n} resource-check pairs in {len(rows) if disagreements else 0} rows; "
          + ", ".join(f"{who} right: {cnt}" for who, cnt in sorted(by_verdict.items())
                      if who != "UNREVIEWED")
          + (f"; UNREVIEWED: {by_verdict['UNREVIEWED']}" if by_verdict["UNREVIEWED"] else ""))
    print(f"\nbucketwatch wrong: {by_verdict['Prowler']}")
    if strict and (by_verdict["Prowler"] or by_verdict["UNREVIEWED"]):
        sys.exit(3)


if __name__ == "__main__":
    main()

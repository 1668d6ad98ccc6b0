from bucketwatch_s3_posture import name, verdict
from bucketwatch_settings import trusted_accounts


def _granted(resource):
    trusted = set(trusted_accounts())
    granted = verdict(resource, "CrossAccountActions") or {}
    return {acct: acts for acct, acts in granted.items() if acct not in trusted}


def policy(resource):
    return not _granted(resource)


def title(resource):
    parts = [
        f"{'everyone' if acct == '*' else 'account ' + acct} may call {', '.join(acts)}"
        for acct, acts in sorted(_granted(resource).items())
    ]
    return f"S3 bucket {name(resource)}: {'; '.join(parts)}"

from bucketwatch_s3_posture import bpa_flags_off, field, name


def _open_points(resource):
    return [
        (p.get("Name"), bpa_flags_off(p.get("PublicAccessBlockConfiguration")))
        for p in field(resource, "AccessPoints") or []
        if bpa_flags_off(p.get("PublicAccessBlockConfiguration"))
    ]


def policy(resource):
    return not _open_points(resource)


def title(resource):
    points = "; ".join(f"{point}: {', '.join(off)} off" for point, off in _open_points(resource))
    return f"S3 bucket {name(resource)} has access points without full Block Public Access ({points})"

#!/usr/bin/env python3
"""Run Prowler (its `prowler` command, same arguments) against moto at AWS_ENDPOINT_URL.

Run with the Python of Prowler's own virtualenv. The only change to Prowler's behaviour is name
resolution, the equivalent of an /etc/hosts line that this benchmark must not write:

botocore builds the s3control host from the account id and the endpoint, as it does on AWS
(`<account>.s3-control.<region>.amazonaws.com`), so against AWS_ENDPOINT_URL=http://127.0.0.1:PORT
it asks for `123456789012.127.0.0.1`, which does not resolve. Prowler then logs
EndpointConnectionError after several seconds of retries for each of the account Block Public
Access, the access points and the Multi-Region Access Points, and its account-level checks
report nothing (AWS_DISABLE_HOST_PREFIX_INJECTION does not help: the prefix comes from the
s3control endpoint rules, not from a host prefix). bucketwatch meets the same problem and sends
s3control requests to the endpoint as it is. Here any `<digits>.<endpoint host>` name resolves
to the endpoint host, so those requests reach moto, which serves s3control on the same port.
"""

import os
import re
import socket
import sys
from urllib.parse import urlparse

host = urlparse(os.environ.get("AWS_ENDPOINT_URL", "")).hostname
if not host:
    sys.exit("prowler_moto.py: AWS_ENDPOINT_URL (moto) is not set")
prefixed = re.compile(r"^\d{12}\." + re.escape(host) + r"$")
_getaddrinfo = socket.getaddrinfo


def getaddrinfo(name, *args, **kwargs):
    if isinstance(name, str) and prefixed.match(name):
        name = host
    return _getaddrinfo(name, *args, **kwargs)


socket.getaddrinfo = getaddrinfo

from prowler.__main__ import prowler  # noqa: E402  (after the patch, as the bin/prowler script does)

sys.argv[0] = "prowler"
sys.exit(prowler())

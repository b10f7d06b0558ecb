"""How the service's apps call the member API's app routes: the member id as one percent-encoded
path segment (the API decodes it once), and a SigV4 signature (service ``execute-api``) over the
request exactly as it goes out. ``requests`` re-quotes a URL as it prepares it (``%2E`` goes out
as ``.``, ``|`` as ``%7C``), so the signature is made after that, or it would sign another path.
The rehearsal and the tests call the app routes this way."""

from __future__ import annotations

from urllib.parse import quote

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-east-1"
SIGNED_HEADERS = ("content-type",)


def member_path(member_id: str, action: str) -> str:
    """``/members/{id}/{action}`` with the id as one segment: every reserved character
    percent-encoded, ``/`` and ``%`` included."""
    return f"/members/{quote(member_id, safe='')}/{action}"


class SignedAsApp(requests.auth.AuthBase):
    """SigV4 over the prepared request, with these credentials (an app role's session)."""

    def __init__(self, credentials: Credentials):
        self.credentials = credentials

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        headers = {name: value for name, value in request.headers.items() if name.lower() in SIGNED_HEADERS}
        signed = AWSRequest(method=request.method, url=request.url, data=request.body or b"", headers=headers)
        SigV4Auth(self.credentials, "execute-api", REGION).add_auth(signed)
        for name, value in signed.headers.items():
            request.headers[name] = value
        return request

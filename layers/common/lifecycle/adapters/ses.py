"""Mailer on Amazon SES: one raw MIME message per email, tagged so that bounce and complaint
events find the member again."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any, cast

from botocore.exceptions import ClientError

from lifecycle import aws
from lifecycle.addresses import ses_address
from lifecycle.errors import AddressRefused, DeliveryFailed
from lifecycle.rendering import RenderedEmail
from lifecycle.ses_tags import member_tags


class SesMailer:
    def __init__(self, sender_address: str, configuration_set: str = "", *, sender_name: str = "",
                 reply_to: str = ""):
        self.sender_address = sender_address
        self.configuration_set = configuration_set
        # "Streamly <no-reply@…>": a bare address is what phishing looks like; a name with
        # characters beyond ASCII is encoded (RFC 2047) when the message is written
        self.from_line = formataddr((sender_name, sender_address)) if sender_name else sender_address
        self.reply_to = reply_to

    def send(self, to: str, email: RenderedEmail, kind: str, sent_at: datetime, member_id: str) -> str:
        """Send one email as a MIME message with both parts. ``Date`` is the campaign's clock;
        ``X-Membership-Email`` names the kind, for mail analytics and rehearsal reports.
        ``AddressRefused`` when SES cannot send to the address (checked first, and as SES says)."""
        to = ses_address(to)
        message = EmailMessage()
        message["From"] = self.from_line
        if self.reply_to:
            message["Reply-To"] = self.reply_to
        message["To"] = to
        message["Subject"] = email.subject
        message["Date"] = formatdate(sent_at.timestamp(), usegmt=True)
        message["X-Membership-Email"] = kind
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        message["Content-Language"] = email.lang  # after the body: set_content drops Content-* headers
        request: dict[str, Any] = {
            "Source": self.sender_address,
            "Destinations": [to],
            "RawMessage": {"Data": message.as_bytes()},
            # SES hands the tags back with bounce and complaint events: that is how feedback finds the member
            "Tags": [{"Name": "kind", "Value": kind}, *member_tags(member_id)],
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            return cast(str, aws.client("ses").send_raw_email(**request)["MessageId"])
        except ClientError as exc:
            error = exc.response["Error"]
            if error.get("Code") == "InvalidParameterValue" and _about_an_address(error.get("Message", "")):
                raise AddressRefused(f"SES refused the address: {error.get('Message')}") from exc
            raise DeliveryFailed(f"SES refused the {kind} email: {error.get('Code')}") from exc


def _about_an_address(message: str) -> bool:
    """SES's InvalidParameterValue for an address it cannot send to ("Missing final '@domain'",
    "Local address contains illegal character", "Domain contains illegal character", "Illegal
    address", "Missing local name"): it has no error code of its own."""
    lowered = message.lower()
    return any(word in lowered for word in ("address", "domain", "local name"))

"""Email addresses as SES takes them.

SES sends only to 7-bit ASCII addresses: it "does not support the SMTPUTF8 extension", a
Unicode domain must be written in Punycode, and Punycode is not allowed before the ``@`` (API
Reference, "Destination"). ``ses_address`` writes an address that way (``jane@bücher.de`` is
sent to ``jane@xn--bcher-kva.de``) or says it cannot be: such a member is reached in the app
only. It uses email-validator, imported on first use (the member API never sends email).
"""

from __future__ import annotations

from lifecycle.errors import AddressRefused


def ses_address(address: str) -> str:
    """``address`` as SES can send to it; ``AddressRefused`` (saying why, without the address)."""
    from email_validator import EmailNotValidError, validate_email

    try:
        ascii_email = validate_email(
            address, check_deliverability=False, allow_smtputf8=False, allow_quoted_local=False
        ).ascii_email
    except EmailNotValidError as exc:
        raise AddressRefused(str(exc).replace(address, "the address")) from None
    if ascii_email is None:  # only an address that needs SMTPUTF8 has no ASCII form, and those were refused above
        raise AddressRefused("the address has no ASCII form")
    return ascii_email

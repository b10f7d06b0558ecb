"""Email addresses as SES takes them, and the keyed hash a purged member's row keeps instead.

SES sends only to 7-bit ASCII addresses: it "does not support the SMTPUTF8 extension", a
Unicode domain must be written in Punycode, and Punycode is not allowed before the ``@`` (API
Reference, "Destination"). ``ses_address`` writes an address that way (``jane@bücher.de`` is
sent to ``jane@xn--bcher-kva.de``) or says it cannot be: such a member is reached in the app
only. It uses email-validator, imported on first use (the member API never sends email).

Once retention ends the address is deleted from the member's row; ``purged_address_hash`` is
what stays, so that support can still answer "was this address a member?" by hashing what it
is told (with the stack's address-hash key), while the row no longer holds the address.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

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


# ------------------------------------------------------------------ a purged member's address
# The label bound into every hash: the key hashes purged addresses and nothing else, so a value
# made for anything else under the same key can never pass for one of these.
PURGED_ADDRESS = "purged-email:"
MIN_ADDRESS_KEY_LENGTH = 32


class AddressKeyProblem(ValueError):
    """The address-hash secret holds no usable key."""


def address_key(secret: object) -> bytes:
    """The key the secret holds (``{"key": ...}``); ``AddressKeyProblem`` without a usable one."""
    key = secret.get("key") if isinstance(secret, dict) else None
    if not isinstance(key, str) or len(key) < MIN_ADDRESS_KEY_LENGTH:
        raise AddressKeyProblem(f"the address-hash secret needs a 'key' of {MIN_ADDRESS_KEY_LENGTH} characters or more")
    return key.encode("utf-8")


def normalised_address(address: str) -> str:
    """One spelling of an address however a person writes it, so that what a support agent is
    told hashes as what was stored: no surrounding space, Unicode in one form (NFC), letters in
    one case (as mailbox providers treat them), and the domain as DNS names it (IDNA 2008 with
    UTS 46: ``Bücher.example`` and ``xn--bcher-kva.example`` are one). Never fails: an address
    the business stored is hashed whatever it holds."""
    text = unicodedata.normalize("NFC", address.strip())
    local, at, domain = text.rpartition("@")  # the last "@": a quoted local part may hold one
    if not at:
        return text.casefold()
    return f"{local.casefold()}@{_domain(domain)}"


def _domain(domain: str) -> str:
    import idna  # email-validator's own IDNA library; imported on first use, like it

    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except UnicodeError:  # no valid IDNA name (IDNAError is one): compared as text, case folded
        ascii_domain = unicodedata.normalize("NFKC", domain).casefold()
    return ascii_domain.rstrip(".")  # the root's dot names the same domain


def purged_address_hash(address: str, key: bytes) -> str:
    """HMAC-SHA256 of the normalised address under the label, in hex: what a purged member's row
    keeps instead of the address. Without the key nobody can test a guess against it."""
    message = (PURGED_ADDRESS + normalised_address(address)).encode("utf-8", "surrogatepass")
    return hmac.new(key, message, hashlib.sha256).hexdigest()

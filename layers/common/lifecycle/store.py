"""The ports one invocation works through, wired once: the member tables (``Members``), the
notices, holds and links and every transition between them (``Lifecycle``), mail, the billing
bus, the link keys and the key purged addresses are hashed with. On AWS unless a caller hands
in others (the tests' fakes)."""

from __future__ import annotations

from dataclasses import dataclass

from lifecycle.adapters.dynamodb import DynamoDBLifecycle, DynamoDBMembers
from lifecycle.adapters.eventbridge import EventBridgeBus
from lifecycle.adapters.secrets_manager import SecretsManagerAddressKeys, SecretsManagerLinkKeys
from lifecycle.adapters.ses import SesMailer
from lifecycle.ports import AddressKeys, BillingBus, Lifecycle, LinkKeys, Mailer, Members
from lifecycle.settings import Settings


@dataclass(frozen=True)
class Store:
    members: Members
    lifecycle: Lifecycle
    mailer: Mailer
    bus: BillingBus
    link_keys: LinkKeys
    address_keys: AddressKeys

    @classmethod
    def on_aws(
        cls,
        settings: Settings,
        *,
        mailer: Mailer | None = None,
        bus: BillingBus | None = None,
        link_keys: LinkKeys | None = None,
        address_keys: AddressKeys | None = None,
    ) -> Store:
        return cls(
            members=DynamoDBMembers(settings.activity_table, settings.member_data_table),
            lifecycle=DynamoDBLifecycle(
                settings.activity_table, settings.member_data_table, settings.lifecycle_table, settings.link_table
            ),
            mailer=mailer or SesMailer(settings.sender_address, settings.configuration_set,
                                       sender_name=settings.service_name, reply_to=settings.reply_to_address),
            bus=bus or EventBridgeBus(settings.event_bus_name),
            link_keys=link_keys or SecretsManagerLinkKeys(settings.link_secret_id),
            address_keys=address_keys or SecretsManagerAddressKeys(settings.address_secret_id),
        )

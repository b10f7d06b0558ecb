"""The ports' adapters on AWS, one service each: ``ses`` (Mailer), ``eventbridge`` (BillingBus),
``secrets_manager`` (LinkKeys). AWS errors leave them as domain errors."""

"""The ports' adapters on AWS, one service each: ``ses`` (Mailer), ``eventbridge`` (BillingBus),
``secrets_manager`` (LinkKeys), ``dynamodb`` (Members, Lifecycle). AWS errors leave them as domain
errors."""

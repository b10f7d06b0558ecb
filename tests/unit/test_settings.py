"""The settings are the one place each default lives: the template's Parameters repeat them (for
``sam deploy`` to check), and these tests hold the two to the same defaults and bounds, and each
function's environment to the Parameter it names."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

from lifecycle.settings import Policy, Settings, SettingsError, SweepSettings, declared

TEMPLATE = cfn_yaml.load(str(Path(__file__).parents[2] / "template.yaml"))
PARAMETERS = TEMPLATE["Parameters"]
SETTINGS = [spec for cls in (Settings, Policy, SweepSettings) for spec in declared(cls)]
FROM_PARAMETERS = [spec for spec in SETTINGS if spec.metadata["parameter"]]
# Parameters that shape the deployment, not a setting a function reads
DEPLOYMENT_ONLY = {
    "Stage": "part of every resource name",
    "SweepSchedule": "the schedule's expression",
    "StreamBatchSize": "the stream event sources' batch size",
    "StreamMaxRetries": "the stream event sources' retries",
    "LogLevel": "Powertools reads POWERTOOLS_LOG_LEVEL itself",
    "AppPrincipalArns": "the API's resource policy",
    "PublicBaseUrl": "PUBLIC_BASE_URL is it, or the API's own URL when it is empty",
    "AlarmEmail": "the alarm topic's email subscription",
}
TABLES = {"ACTIVITY_TABLE": "a", "LIFECYCLE_TABLE": "l", "MEMBER_DATA_TABLE": "m", "LINK_TABLE": "k"}


def environments() -> list[tuple[str, dict]]:
    """Each function's environment as the template writes it, the Globals' included."""
    shared = dict(TEMPLATE["Globals"]["Function"]["Environment"]["Variables"])
    found = [("Globals", shared)]
    for name, resource in TEMPLATE["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            found.append((name, dict(resource["Properties"].get("Environment", {}).get("Variables", {}))))
    return found


@pytest.mark.parametrize("spec", FROM_PARAMETERS, ids=lambda spec: spec.metadata["parameter"])
def test_each_parameter_has_the_settings_default_and_bounds(spec):
    parameter = PARAMETERS[spec.metadata["parameter"]]
    if isinstance(spec.default, bool):
        assert (parameter["Type"], parameter["AllowedValues"]) == ("String", ["true", "false"])
        assert parameter["Default"] == str(spec.default).lower()
        return
    assert parameter["Default"] == spec.default
    allowed = spec.metadata["allowed"]
    assert parameter.get("AllowedValues") == (list(allowed) if allowed else parameter.get("AllowedValues"))
    assert parameter.get("MinValue") == spec.metadata["minimum"]
    assert parameter.get("MaxValue") == spec.metadata["maximum"]


@pytest.mark.parametrize("spec", FROM_PARAMETERS, ids=lambda spec: spec.metadata["env"])
def test_each_setting_reaches_the_functions_from_its_own_parameter(spec):
    env, parameter = spec.metadata["env"], spec.metadata["parameter"]
    given = [(where, variables[env]) for where, variables in environments() if env in variables]
    assert given, f"no function is given {env}"
    assert all(value == {"Ref": parameter} for _, value in given), given


def test_every_parameter_is_a_setting_or_shapes_the_deployment():
    settings = {spec.metadata["parameter"] for spec in FROM_PARAMETERS}
    assert set(PARAMETERS) == settings | set(DEPLOYMENT_ONLY)
    assert not settings & set(DEPLOYMENT_ONLY)


def test_every_variable_a_function_is_given_is_a_setting_or_powertools_own():
    known = {spec.metadata["env"] for spec in SETTINGS}
    given = {name for _, variables in environments() for name in variables}
    assert {name for name in given - known if not name.startswith("POWERTOOLS_")} == set()


def test_an_environment_with_only_the_tables_gets_every_default():
    settings = Settings.from_env(TABLES)
    assert (settings.policy, settings.sweep) == (Policy(), SweepSettings())
    assert settings.sender_address == "no-reply@example.com" and settings.public_base_url == "http://127.0.0.1:3000"


def test_values_are_read_by_kind_and_urls_lose_a_trailing_slash():
    settings = Settings.from_env(
        {
            **TABLES,
            "DRY_RUN": "TRUE",
            "MAX_NOTICE_SHARE": "0.05",
            "SWEEP_PAGE_SIZE": " 200 ",
            "PUBLIC_BASE_URL": "https://m.example/",
        }
    )
    assert settings.policy.dry_run is True and settings.policy.max_notice_share == 0.05
    assert settings.sweep.page_size == 200 and settings.public_base_url == "https://m.example"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"LINK_TABLE": ""}, "environment variable LINK_TABLE is required"),
        ({"DRY_RUN": "yes"}, "environment variable DRY_RUN must be true or false, got 'yes'"),
        ({"RETENTION_MONTHS": "ten"}, "environment variable RETENTION_MONTHS must be a whole number, got 'ten'"),
        ({"MAX_NOTICE_SHARE": "1%"}, "environment variable MAX_NOTICE_SHARE must be a number, got '1%'"),
        ({"RETENTION_MONTHS": "0"}, "retention_months must be at least 1, got 0"),
        ({"MAX_NOTICE_SHARE": "2"}, "max_notice_share must be at most 1, got 2.0"),
        ({"SWEEP_MAX_CONCURRENCY": "1"}, "max_concurrency must be at least 2, got 1"),
        ({"SWEEP_HAND_OFF_SECONDS": "901"}, "hand_off_seconds must be at most 900, got 901.0"),
        ({"REMINDER_DAYS_BEFORE": "30"}, "reminder_days_before (30) must be between 0 and response_window_days - 1"),
        ({"CANCELLATION_TAKES_EFFECT": "later"},
         "cancellation_takes_effect must be one of immediately, end_of_paid_period, got 'later'"),
    ],
)
def test_a_bad_value_is_refused_with_its_name(variables, message):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**TABLES, **variables})
    assert message in str(refused.value)

"""The Hypothesis settings a scenario test needs, and the project's namespaced profiles.

A scenario run takes tens of milliseconds of wall time (a baseline run doubles that), so
Hypothesis's default 200 ms deadline and its too-slow health check fire on correct code, and
its explain phase takes minutes. ``scenario_settings()`` turns exactly those off on top of
whatever profile the host project loaded; nothing here loads a profile. The ``durable-*``
profiles are registered so that a project can ask for them (see ``pytest_plugin``);
registering a name changes no setting.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, settings

#: Health checks a scenario test trips on correct code: scenarios are slow to run and their
#: drawn data (programs, fault plans, timings) is large.
SCENARIO_HEALTH_CHECKS = (HealthCheck.too_slow, HealthCheck.data_too_large)

PROFILES = ("durable-ci", "durable-dev", "durable-fuzz")


def scenario_settings(**overrides: Any) -> settings:
    """Settings for a test that runs scenarios: the current profile with the deadline off and
    the too-slow and data-too-large health checks suppressed. Use it as a decorator::

        @scenario_settings()
        @given(durable_scenarios(order_workflow))
        def test_orders(scenario): ...

    Keyword arguments are Hypothesis settings that win over the profile (``max_examples=200``);
    ``suppress_health_check`` adds to the suppressed checks rather than replacing them. The
    profile is read when the decorator is applied, as with ``@settings``: load your own
    profile in ``conftest.py`` and it stands for everything this does not name.

    Hypothesis's explain phase is left out unless ``phases=`` is given: it runs the shrunk
    example's variations (hundreds of scenarios) under a line tracer, and on Python 3.11
    (``sys.settrace``) it traces the shrinking too, so a failing property reported after four
    minutes instead of fourteen seconds. The scenario's own reproducer says what mattered.
    """
    extra = tuple(overrides.pop("suppress_health_check", ()))
    parent: settings = overrides.pop("parent", None) or settings()
    suppressed = list(
        dict.fromkeys((*parent.suppress_health_check, *SCENARIO_HEALTH_CHECKS, *extra))
    )
    overrides.setdefault("deadline", None)
    if "phases" not in overrides and Phase.explain in parent.phases:
        overrides["phases"] = [p for p in parent.phases if p is not Phase.explain]
    return settings(parent, suppress_health_check=suppressed, **overrides)


def register_profiles() -> None:
    """Register ``durable-ci``, ``durable-dev`` and ``durable-fuzz`` (loads none of them)."""
    quiet = list(SCENARIO_HEALTH_CHECKS)
    # Hypothesis's own defaults underneath, not whatever profile happens to be loaded now.
    base = settings.get_profile("default")
    settings.register_profile(
        "durable-ci",
        parent=base,
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=quiet,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    )
    settings.register_profile(
        "durable-dev",
        parent=base,
        max_examples=50,
        deadline=None,
        suppress_health_check=quiet,
        # The explain phase re-runs hundreds of scenarios after shrinking; a failing property
        # would take half a minute to report.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    )
    settings.register_profile(
        "durable-fuzz",
        parent=base,
        max_examples=5_000,
        deadline=None,
        suppress_health_check=[*quiet, HealthCheck.filter_too_much],
    )

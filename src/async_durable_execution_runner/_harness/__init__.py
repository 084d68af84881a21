"""The property-based harness, by concept (users import the public facades instead:
``strategies``, ``scenarios``, ``oracles``, ``stateful``, ``coverage``, ``pytest_plugin``).

- ``faults/``: the fault kinds, the hooks that apply a plan, placing faults at the points a run
  reaches, the log records faults cause;
- ``scenario/``: ``Scenario`` and its ``Outcome``, timings, running a scenario, its strategies,
  exhaustive crash points;
- ``oracles/``: the checks that judge a run, and the SDK issues they know;
- ``programs/``: random durable programs, their interpreter and their reference evaluator;
- ``checkpoint_model/``: the checkpoint processor's reference model, update strategies and
  state machine;
- beside them: ``recorder`` (what the oracles read), ``world`` (the same world twice),
  ``settings`` (Hypothesis profiles), ``coverage`` and its pytest side, ``durable_machine``.
"""

"""A gallery of realistic durable workflows, each tested with the runner and a property suite.

- ``checkout``: an order paid by card, with a person approving large orders (a callback);
- ``invoicing``: a fan-out with ``map`` over accounts, tolerating the accounts that fail;
- ``trip``: a saga that books a flight, a hotel and a car, and compensates when one fails;
- ``review``: a human in the loop, with callbacks that time out and an escalation.

The partners they talk to are fakes in ``services``, a module of its own: an outside service
outlives a Lambda sandbox, so a cold re-invocation (which re-imports the handler's module)
must not reset it. The tests are in ``tests/examples/``; the docs show each workflow in the
gallery pages.
"""

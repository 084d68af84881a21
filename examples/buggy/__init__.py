"""Classic durable-execution bugs, each beside its fixed twin (`buggy` and `fixed` handlers).

`tests/harness/test_buggy_examples.py` shows the harness finds every bug under the `ci`
profile, shrinks it to the minimal scenario, and finds nothing in the twins.
"""

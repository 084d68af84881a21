"""Oracles: the checks that judge one run, and the SDK behaviours they know about."""

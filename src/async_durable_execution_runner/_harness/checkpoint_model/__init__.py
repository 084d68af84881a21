"""The checkpoint processor tested against a reference model: the model, strategies of
checkpoint updates, and the rule-based state machine that compares the two."""

"""Random durable programs: the nodes, their strategy, the interpreter that runs them with the
SDK, and the reference evaluator that says how they must end."""

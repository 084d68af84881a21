from async_durable_execution_runner.cli import main

raise SystemExit(main())

"""Where a handler runs, as Lambda runs it: the sandbox side of the durable service.

The service (``_service``) decides when an invocation happens and what it may see; this
package runs it: in this process (``invoker``) on a virtual-time event loop
(``virtual_loop``, with the work it waits for: ``outside_work``, ``parked``, ``woken``,
``blocking_sleep``, ``blocked_time``), under the handler's clock (``handler_clock``) and a
wall-clock deadline (``hang_alarm``, ``safe_points``), or in a worker process
(``process_invoker``, ``process_worker``); a sandbox's module state (``module_state``),
the runtime's environment (``runtime_environment``) and the client the SDK calls the
service through (``service_client``). It imports the service, never the other way round.
"""

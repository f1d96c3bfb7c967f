# The suites the sanitizer runs cover, for scripts/sanitize.sh and scripts/tsan.sh
# (sourced, not run): the CMake targets to build and the CTest names to run.
sanitizer_targets=(storage_tests worker_node_tests node_parts_tests state_machine_tests tick_rule_tests schedule_tests flow_tests runtime_tests retry_tests timer_tests limit_tests
                   retention_tests idempotency_tests recovery_tests message_driven_tests
                   transition_property_tests scheduler_parts_tests async_facade_tests crash_tests
                   crash_child crash_loop_tests crash_loop_child fault_tests fault_helper signal_wake_repro
                   schedule_crash_tests schedule_crash_child flow_crash_tests flow_crash_child)
sanitizer_tests='^(storage_tests|worker_node_tests|worker_node_tests_in_memory|node_parts_tests|state_machine_tests|tick_rule_tests|schedule_tests|schedule_tests_in_memory|flow_tests|flow_tests_in_memory|runtime_tests|runtime_tests_in_memory|retry_tests|retry_tests_in_memory|timer_tests|timer_tests_in_memory|limit_tests|limit_tests_in_memory|retention_tests|retention_tests_in_memory|idempotency_tests|idempotency_tests_in_memory|recovery_tests|message_driven_tests|message_driven_tests_in_memory|transition_property_tests|transition_property_tests_in_memory|scheduler_parts_tests|async_facade_tests|async_facade_tests_in_memory|crash_tests|crash_loop|fault_tests|signal_wake_tests|schedule_crash_loop|flow_crash_loop)$'

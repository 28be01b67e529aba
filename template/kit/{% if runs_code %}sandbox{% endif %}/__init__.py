"""Running untrusted Python (a learner's program, an LLM's example) in CPython compiled to
WebAssembly, in a separate worker process; never in the service's own process."""

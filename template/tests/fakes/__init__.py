"""In-test stand-ins for what this machine lacks: an OpenAI-compatible server and a Dapr
sidecar. Only ever used by tests; never a runtime mode of the service."""

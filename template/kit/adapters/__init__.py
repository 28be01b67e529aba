"""How the kit's interfaces reach the outside world: the Dapr sidecar, the embedded SQLite
store and in-process bus, and an OpenAI-compatible model."""

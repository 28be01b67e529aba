"""The routes every LearnFlow agent has, by concern: operations (health, readiness, metrics),
the agent (/process and its stream), and Dapr pub/sub (subscriptions and event delivery)."""

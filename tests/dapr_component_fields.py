"""What Dapr accepts in each component we render: the metadata fields components-contrib
declares (its metadata.yaml per component), plus the few the Dapr runtime itself reads.

Sources (dapr/components-contrib, read when this list was written):
- state/postgresql/v1/metadata.yaml at 03d40d3d0c105df8e01274983e4d70a2d8c0dc88
- pubsub/kafka/metadata.yaml at 031eece8ddc5b89a7b3ead41f585462f80424725
- state/redis/metadata.yaml at 07fc9feb70767b4ff361bcd8754ef2cd58ffb5b5
- pubsub/redis/metadata.yaml at 5102c09b6ed9905164b7f8993a0e0c7cf6db4728 (shares the Redis
  connection fields)
- conversation/openai/metadata.yaml at c23900d2760de2061143587c16c5e30ab3f092cf (with
  conversation/metadata.go LangchainMetadata, whose responseCacheTTL is also read as cacheTTL)
Runtime fields: `actorStateStore` for state stores with the actorStateStore capability,
`keyPrefix` for state stores, `consumerID` for every pub/sub (dapr/components-contrib
pubsub/metadata.go, RuntimeConsumerIDKey), and the topic scopes the sidecar reads from every
pub/sub component: `publishingScopes`, `subscriptionScopes`, `allowedTopics`, `protectedTopics`
(dapr/dapr pkg/scopes/scopes.go at d8450742ce3260d93a2346f4398a1e60d019a45b).
"""

PUBSUB_SCOPE_FIELDS = {"publishingScopes", "subscriptionScopes", "allowedTopics", "protectedTopics"}

COMPONENT_FIELDS = {
    ("state.postgresql", "v1"): {
        "required": {"connectionString"},
        "allowed": {
            "connectionString",
            "timeout",
            "tableName",
            "metadataTableName",
            "cleanupInterval",
            "maxConns",
            "connectionMaxIdleTime",
            "queryExecMode",
            "host",
            "hostaddr",
            "port",
            "database",
            "user",
            "password",
            "sslRootCert",
            "useAzureAD",
            "useAWSIAM",
            "actorStateStore",
            "keyPrefix",
        },
        "secret": {"connectionString", "password"},
    },
    ("pubsub.kafka", "v1"): {
        "required": {"brokers", "authType"},
        "allowed": {
            "brokers",
            "consumerGroup",
            "clientID",
            "authRequired",
            "authType",
            "saslUsername",
            "saslPassword",
            "saslMechanism",
            "initialOffset",
            "maxMessageBytes",
            "consumeRetryInterval",
            "consumeRetryEnabled",
            "version",
            "caCert",
            "clientCert",
            "clientKey",
            "skipVerify",
            "disableTls",
            "oidcTokenEndpoint",
            "oidcClientID",
            "oidcClientSecret",
            "oidcScopes",
            "consumerID",
            *PUBSUB_SCOPE_FIELDS,
        },
        "secret": {"saslPassword", "clientKey", "oidcClientSecret"},
        "enums": {
            "authType": {"none", "password", "mtls", "oidc"},
            "initialOffset": {"newest", "oldest"},
        },
    },
    ("state.redis", "v1"): {
        "required": {"redisHost"},
        "allowed": {
            "redisHost",
            "redisPassword",
            "redisUsername",
            "enableTLS",
            "clientCert",
            "clientKey",
            "failover",
            "sentinelMasterName",
            "redisType",
            "redisDB",
            "redisMaxRetries",
            "dialTimeout",
            "readTimeout",
            "writeTimeout",
            "poolSize",
            "ttlInSeconds",
            "queryIndexes",
            "actorStateStore",
            "keyPrefix",
        },
        "secret": set(),
    },
    ("conversation.openai", "v1"): {
        "required": {"key"},
        "allowed": {
            "key",
            "model",
            "endpoint",
            "cacheTTL",
            "responseCacheTTL",
            "apiVersion",
            "apiType",
        },
        "secret": {"key"},
        "enums": {"apiType": {"open_ai", "azure"}},
    },
    ("pubsub.redis", "v1"): {
        "required": {"redisHost"},
        "allowed": {
            "redisHost",
            "redisPassword",
            "redisUsername",
            "enableTLS",
            "redisType",
            "redisDB",
            "consumerID",
            "processingTimeout",
            "redeliverInterval",
            "queueDepth",
            "concurrency",
            "maxLenApprox",
            *PUBSUB_SCOPE_FIELDS,
        },
        "secret": set(),
    },
}

# Dapr sidecar annotations we use (dapr/dapr pkg/injector/annotations and the docs page
# "Dapr arguments and annotations for daprd, CLI, and Kubernetes").
KNOWN_ANNOTATIONS = {
    "dapr.io/enabled",
    "dapr.io/app-id",
    "dapr.io/app-port",
    "dapr.io/app-protocol",
    "dapr.io/log-level",
    "dapr.io/log-as-json",
    "dapr.io/sidecar-cpu-request",
    "dapr.io/sidecar-memory-request",
    "dapr.io/sidecar-cpu-limit",
    "dapr.io/sidecar-memory-limit",
    "dapr.io/enable-app-health-check",
    "dapr.io/app-health-check-path",
    "dapr.io/app-health-probe-interval",
    "dapr.io/enable-metrics",
    "dapr.io/metrics-port",
    "dapr.io/api-token-secret",
    "dapr.io/app-token-secret",
    "dapr.io/config",
    "dapr.io/env",
    "dapr.io/disable-builtin-k8s-secret-store",
    "dapr.io/sidecar-seccomp-profile-type",
}

# Rendered only for LLM_BACKEND=dapr-conversation.
OPTIONAL_COMPONENTS = {("conversation.openai", "v1")}

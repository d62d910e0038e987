/**
 * Every environment variable of the services, with its kind, default and meaning: the README's configuration
 * table is this list. `config.ts` reads and checks them.
 */
export type Kind = 'string' | 'port' | 'int' | 'url' | 'enum' | 'list' | 'bool';

export interface VarSpec {
  kind: Kind;
  default?: string;
  values?: readonly string[];
  protocols?: readonly string[];
  description: string;
}

export const CONFIG_VARS = {
  REDIS_URL: {
    kind: 'url',
    protocols: ['redis:', 'rediss:'],
    default: 'redis://127.0.0.1:6379',
    description: 'Redis that holds the catalog',
  },
  REDIS_READ_URL: {
    kind: 'url',
    protocols: ['redis:', 'rediss:'],
    description: 'Optional Redis replica the API reads from',
  },
  REDIS_PREFIX: { kind: 'string', default: 'pf:', description: 'Prefix of every Redis key' },
  NATS_URL: {
    kind: 'string',
    default: 'nats://127.0.0.1:4222',
    description: 'NATS server(s) with JetStream, comma separated',
  },
  NATS_STREAM_REPLICAS: {
    kind: 'int',
    default: '1',
    description: 'Copies of each JetStream stream (3 in a NATS cluster of three or more; 1 on one server)',
  },
  LOG_LEVEL: {
    kind: 'enum',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    default: 'info',
    description: 'pino log level',
  },
  API_HOST: {
    kind: 'string',
    default: '127.0.0.1',
    description: 'Address the API listens on (0.0.0.0 in a container)',
  },
  API_PORT: { kind: 'port', default: '8080', description: 'Port of the REST API' },
  HEALTH_HOST: {
    kind: 'string',
    default: '127.0.0.1',
    description: 'Address of the health endpoint of watcher, indexer and installer',
  },
  HEALTH_PORT: {
    kind: 'port',
    default: '0',
    description: 'Port of that health endpoint (0: any free port, logged at start)',
  },
  WATCHER_MODE: {
    kind: 'enum',
    values: ['folder', 'kubernetes'],
    default: 'folder',
    description: 'Where the watcher reads ProfileCatalogSources',
  },
  WATCH_DIR: {
    kind: 'string',
    default: 'examples/catalog-sources',
    description: 'Folder of ProfileCatalogSource YAML (folder mode)',
  },
  WATCH_NAMESPACES: {
    kind: 'list',
    default: '',
    description: 'Namespaces to watch (kubernetes mode); empty: all',
  },
  SNAPSHOT_INTERVAL_SECONDS: {
    kind: 'int',
    default: '300',
    description: 'Period of the full snapshot the watcher publishes',
  },
  KUBECONFIG: {
    kind: 'string',
    description:
      'kubernetes mode: kubeconfig file for local use; unset: in-cluster config in a pod, else ~/.kube/config',
  },
  KUBE_WATCH_TIMEOUT_SECONDS: {
    kind: 'int',
    default: '300',
    description: 'kubernetes mode: length of one watch request; a watch silent for longer is restarted',
  },
  MAX_SOURCE_BYTES: {
    kind: 'int',
    default: '1048576',
    description: 'Largest ProfileCatalogSource file or object accepted',
  },
  INSTALLER_WORK_DIR: {
    kind: 'string',
    default: '',
    description: 'Scratch folder of the installer (clones); empty: a new folder under the system temp dir',
  },
  INSTALLER_CONCURRENCY: {
    kind: 'int',
    default: '4',
    description: 'Install requests one installer replica works on at once',
  },
  FLUX_SCHEMAS_DIR: {
    kind: 'string',
    default: '',
    description: 'Folder of the Flux CRDs rendered objects are validated against; empty: the bundled ones',
  },
  GIT_URL_REWRITES: {
    kind: 'list',
    default: '',
    description: 'Git URL rewrites `from=to`, comma separated (e.g. a mirror of a profile repository)',
  },
  INDEXER_REBUILD_LANES: {
    kind: 'int',
    default: '3',
    description: 'Sources the catalog rebuild writes at once (each on a Redis connection of its own)',
  },
  REPO_CACHE_DIR: {
    kind: 'string',
    default: '.cache/repos',
    description: 'Where the indexer keeps shallow bare copies of scanned repositories',
  },
  REPO_POLL_INTERVAL_SECONDS: {
    kind: 'int',
    default: '300',
    description: 'Default rescan period of a repository (per repository: spec.repositories[].interval)',
  },
  REPO_GIT_TIMEOUT_SECONDS: { kind: 'int', default: '60', description: 'Time limit of one git operation' },
  REPO_MAX_TAGS: { kind: 'int', default: '5000', description: 'Most version tags read from one repository' },
  REPO_MAX_PROFILE_BYTES: { kind: 'int', default: '262144', description: 'Largest profile.yaml accepted' },
  REPO_ALLOW_FILE: {
    kind: 'bool',
    default: 'false',
    description: 'Allow file:// repositories (local runs and tests; never in a shared cluster)',
  },
  REPO_ALLOW_LOOPBACK: {
    kind: 'bool',
    default: 'false',
    description: 'Allow repositories on loopback addresses (local runs and tests; never in a shared cluster)',
  },
  REPO_ALLOW_HOSTS: {
    kind: 'list',
    default: '',
    description:
      'Allowlist mode: the only hosts repositories and pull-request APIs may use (names, *.domain, addresses, CIDRs)',
  },
  REPO_DENY_HOSTS: {
    kind: 'list',
    default: '169.254.,metadata.google.internal,metadata',
    description: 'Hosts, or IP prefixes ending in a dot, that repositories may not point at',
  },
  SECRETS_SOURCE: {
    kind: 'enum',
    values: ['none', 'folder', 'kubernetes'],
    default: 'folder',
    description: 'Where the indexer and the installer read secretRef Secrets',
  },
  GIT_SSH_KNOWN_HOSTS: {
    kind: 'string',
    description:
      "known_hosts file trusted for every ssh repository (besides a secret's known_hosts); unknown hosts are refused",
  },
  SECRETS_DIR: {
    kind: 'string',
    default: 'examples/secrets',
    description: 'Folder of Secret YAML (SECRETS_SOURCE=folder)',
  },
  CORS_ORIGINS: {
    kind: 'list',
    default: '',
    description: 'Origins allowed by CORS, comma separated (* for any); empty: CORS off',
  },
  RATE_LIMIT_PER_MINUTE: {
    kind: 'int',
    default: '1200',
    description: 'Requests per minute per client address, counted in Redis across replicas (0: off)',
  },
  WEBHOOK_SECRET: {
    kind: 'string',
    description: 'Shared secret of git host webhooks (HMAC key or token); webhooks are refused without it',
  },
  AUTH_ANONYMOUS: {
    kind: 'enum',
    values: ['off', 'read', 'open'],
    default: 'off',
    description:
      'Requests without a token: off (401), read (anonymous sees public catalogs only, never writes), open (npm start: anonymous sees and may do everything)',
  },
  AUTH_DEFAULT_ACCESS: {
    kind: 'enum',
    values: ['authenticated', 'public', 'none'],
    default: 'authenticated',
    description:
      'Who sees a catalog source without spec.access: every authenticated caller, everyone, or nobody',
  },
  AUTH_ACCESS_MODE: {
    kind: 'enum',
    values: ['spec', 'rbac'],
    default: 'spec',
    description:
      'How catalog visibility is decided: spec.access of each source, or Kubernetes RBAC (get on the ProfileCatalogSource, SubjectAccessReview)',
  },
  AUTH_TOKENS_FILE: {
    kind: 'string',
    description: 'YAML list of static bearer tokens ({token, user, groups}); read at start',
  },
  AUTH_POLICY_FILE: {
    kind: 'string',
    description: 'YAML write policy: who may install where, with which secretRefs, and refresh which sources',
  },
  AUTH_KUBERNETES: {
    kind: 'bool',
    default: 'false',
    description: 'Accept Kubernetes tokens (service accounts, cluster users), checked with TokenReview',
  },
  OIDC_ISSUER_URL: { kind: 'url', description: 'OIDC issuer whose bearer JWTs are accepted (exact `iss`)' },
  OIDC_AUDIENCE: { kind: 'string', description: 'Required `aud` of OIDC tokens (the API client id)' },
  OIDC_JWKS_URL: {
    kind: 'url',
    description: "The issuer's JWKS; unset: jwks_uri of its /.well-known/openid-configuration",
  },
  OIDC_USER_CLAIM: { kind: 'string', default: 'sub', description: 'Claim naming the user' },
  OIDC_GROUPS_CLAIM: { kind: 'string', default: 'groups', description: 'Claim listing the groups' },
  OIDC_CLOCK_SKEW_SECONDS: {
    kind: 'int',
    default: '30',
    description: 'Clock skew tolerated on exp/nbf/iat',
  },
} as const satisfies Record<string, VarSpec>;

export type ConfigVar = keyof typeof CONFIG_VARS;

import type { UrlPolicy } from './repo-url.ts';
import { AppError } from './errors.ts';

/**
 * Configuration from the environment, validated once at start. Every variable is described here, and the
 * README's configuration table is this list. A bad value fails start-up with a message naming the variable.
 */
type Kind = 'string' | 'port' | 'int' | 'url' | 'enum' | 'list' | 'bool';

interface VarSpec {
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

export interface Config {
  redisUrl: string;
  redisReadUrl: string | undefined;
  redisPrefix: string;
  natsServers: string[];
  natsStreamReplicas: number;
  logLevel: string;
  apiHost: string;
  apiPort: number;
  healthHost: string;
  healthPort: number;
  watcherMode: 'folder' | 'kubernetes';
  watchDir: string;
  watchNamespaces: string[];
  snapshotIntervalSeconds: number;
  maxSourceBytes: number;
  installerWorkDir: string;
  installerConcurrency: number;
  fluxSchemasDir: string;
  gitUrlRewrites: string[];
  repoCacheDir: string;
  repoPollIntervalSeconds: number;
  repoGitTimeoutSeconds: number;
  repoMaxTags: number;
  repoMaxProfileBytes: number;
  repoAllowFile: boolean;
  repoDenyHosts: string[];
  repoAllowLoopback: boolean;
  repoAllowHosts: string[];
  secretsSource: 'none' | 'folder' | 'kubernetes';
  secretsDir: string;
  gitSshKnownHosts: string | undefined;
  webhookSecret: string | undefined;
  corsOrigins: string[];
  rateLimitPerMinute: number;
  kubeconfig: string | undefined;
  kubeWatchTimeoutSeconds: number;
  auth: AuthConfig;
}

export interface AuthConfig {
  anonymous: 'off' | 'read' | 'open';
  defaultAccess: 'authenticated' | 'public' | 'none';
  accessMode: 'spec' | 'rbac';
  tokensFile: string | undefined;
  policyFile: string | undefined;
  kubernetes: boolean;
  oidc:
    | {
        issuer: string;
        audience: string;
        jwksUrl: string | undefined;
        userClaim: string;
        groupsClaim: string;
        clockSkewSeconds: number;
      }
    | undefined;
}

function read(env: NodeJS.ProcessEnv, name: ConfigVar): string | undefined {
  const spec: VarSpec = CONFIG_VARS[name];
  const raw = env[name];
  const value = raw === undefined || raw === '' ? spec.default : raw.trim();
  if (value === undefined) return undefined;
  const bad = (why: string): never => {
    throw new AppError('CONFIG_INVALID', `${name}=${JSON.stringify(raw)} is invalid: ${why}`, {
      details: { variable: name },
    });
  };
  switch (spec.kind) {
    case 'port': {
      const n = Number(value);
      if (!/^\d+$/.test(value) || n > 65535) bad('expected a port number 0-65535');
      break;
    }
    case 'int':
      if (!/^\d+$/.test(value) || Number(value) > Number.MAX_SAFE_INTEGER)
        bad('expected a non-negative integer');
      break;
    case 'url': {
      let u: URL | undefined;
      try {
        u = new URL(value);
      } catch {
        bad('expected a URL');
      }
      if (spec.protocols && u && !spec.protocols.includes(u.protocol))
        bad(`expected a ${spec.protocols.join(' or ')} URL`);
      break;
    }
    case 'enum':
      if (!spec.values?.includes(value)) bad(`expected one of ${spec.values?.join(', ')}`);
      break;
    case 'bool':
      if (!['true', 'false', '1', '0'].includes(value)) bad('expected true or false');
      break;
    default:
      break;
  }
  return value;
}

/** The URL policy the configuration describes (REPO_ALLOW_FILE, REPO_DENY_HOSTS, REPO_ALLOW_LOOPBACK, REPO_ALLOW_HOSTS). */
export function urlPolicyOf(c: Config): UrlPolicy {
  return {
    allowFile: c.repoAllowFile,
    denyHosts: c.repoDenyHosts,
    allowLoopback: c.repoAllowLoopback,
    allowHosts: c.repoAllowHosts,
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const list = (v: string | undefined) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return {
    redisUrl: read(env, 'REDIS_URL')!,
    redisReadUrl: read(env, 'REDIS_READ_URL'),
    redisPrefix: read(env, 'REDIS_PREFIX')!,
    natsServers: list(read(env, 'NATS_URL')),
    natsStreamReplicas: Number(read(env, 'NATS_STREAM_REPLICAS')),
    logLevel: read(env, 'LOG_LEVEL')!,
    apiHost: read(env, 'API_HOST')!,
    apiPort: Number(read(env, 'API_PORT')),
    healthHost: read(env, 'HEALTH_HOST')!,
    healthPort: Number(read(env, 'HEALTH_PORT')),
    watcherMode: read(env, 'WATCHER_MODE') as Config['watcherMode'],
    watchDir: read(env, 'WATCH_DIR')!,
    watchNamespaces: list(read(env, 'WATCH_NAMESPACES')),
    snapshotIntervalSeconds: Number(read(env, 'SNAPSHOT_INTERVAL_SECONDS')),
    maxSourceBytes: Number(read(env, 'MAX_SOURCE_BYTES')),
    installerWorkDir: read(env, 'INSTALLER_WORK_DIR') ?? '',
    installerConcurrency: Number(read(env, 'INSTALLER_CONCURRENCY')),
    fluxSchemasDir: read(env, 'FLUX_SCHEMAS_DIR') ?? '',
    gitUrlRewrites: list(read(env, 'GIT_URL_REWRITES')),
    repoCacheDir: read(env, 'REPO_CACHE_DIR')!,
    repoPollIntervalSeconds: Number(read(env, 'REPO_POLL_INTERVAL_SECONDS')),
    repoGitTimeoutSeconds: Number(read(env, 'REPO_GIT_TIMEOUT_SECONDS')),
    repoMaxTags: Number(read(env, 'REPO_MAX_TAGS')),
    repoMaxProfileBytes: Number(read(env, 'REPO_MAX_PROFILE_BYTES')),
    repoAllowFile: ['true', '1'].includes(read(env, 'REPO_ALLOW_FILE')!),
    repoDenyHosts: list(read(env, 'REPO_DENY_HOSTS')),
    repoAllowLoopback: ['true', '1'].includes(read(env, 'REPO_ALLOW_LOOPBACK')!),
    repoAllowHosts: list(read(env, 'REPO_ALLOW_HOSTS')),
    secretsSource: read(env, 'SECRETS_SOURCE') as Config['secretsSource'],
    secretsDir: read(env, 'SECRETS_DIR')!,
    gitSshKnownHosts: read(env, 'GIT_SSH_KNOWN_HOSTS'),
    webhookSecret: read(env, 'WEBHOOK_SECRET'),
    corsOrigins: list(read(env, 'CORS_ORIGINS')),
    rateLimitPerMinute: Number(read(env, 'RATE_LIMIT_PER_MINUTE')),
    kubeconfig: read(env, 'KUBECONFIG'),
    kubeWatchTimeoutSeconds: Number(read(env, 'KUBE_WATCH_TIMEOUT_SECONDS')),
    auth: authConfig(env),
  };
}

function authConfig(env: NodeJS.ProcessEnv): AuthConfig {
  const issuer = read(env, 'OIDC_ISSUER_URL');
  const audience = read(env, 'OIDC_AUDIENCE');
  if (issuer && !audience)
    throw new AppError('CONFIG_INVALID', 'OIDC_AUDIENCE is required with OIDC_ISSUER_URL', {
      details: { variable: 'OIDC_AUDIENCE' },
    });
  return {
    anonymous: read(env, 'AUTH_ANONYMOUS') as AuthConfig['anonymous'],
    defaultAccess: read(env, 'AUTH_DEFAULT_ACCESS') as AuthConfig['defaultAccess'],
    accessMode: read(env, 'AUTH_ACCESS_MODE') as AuthConfig['accessMode'],
    tokensFile: read(env, 'AUTH_TOKENS_FILE'),
    policyFile: read(env, 'AUTH_POLICY_FILE'),
    kubernetes: ['true', '1'].includes(read(env, 'AUTH_KUBERNETES')!),
    oidc:
      issuer && audience
        ? {
            issuer,
            audience,
            jwksUrl: read(env, 'OIDC_JWKS_URL'),
            userClaim: read(env, 'OIDC_USER_CLAIM')!,
            groupsClaim: read(env, 'OIDC_GROUPS_CLAIM')!,
            clockSkewSeconds: Number(read(env, 'OIDC_CLOCK_SKEW_SECONDS')),
          }
        : undefined,
  };
}

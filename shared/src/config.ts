import type { UrlPolicy } from './repo-url.ts';
import { AppError } from './errors.ts';
import { CONFIG_VARS, type ConfigVar, type VarSpec } from './config-vars.ts';

/**
 * Configuration from the environment, validated once at start (the variables: `config-vars.ts`). A bad value
 * fails start-up with a message naming the variable.
 */
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
  indexerRebuildLanes: number;
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
    indexerRebuildLanes: Number(read(env, 'INDEXER_REBUILD_LANES')),
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

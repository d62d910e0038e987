// `@profiles/shared/git`: the one way the services reach git repositories (runner, credentials, secrets).
export { GitAccess, type GitAccessOptions, type SecretRefLike } from './access.ts';
export { BINDING_KEY, secretAllows } from './binding.ts';
export { gitCredentials, type GitCredentials, type SshOptions } from './credentials.ts';
export {
  GitError,
  emptyGitEnv,
  gitEnvironment,
  gitStats,
  rewriteConfig,
  runGit,
  type GitEnv,
  type GitOptions,
  GitResult,
} from './run.ts';
export {
  folderSecrets,
  kubernetesSecrets,
  noSecrets,
  secretProvider,
  type SecretData,
  type SecretKey,
  type SecretProvider,
} from './secrets.ts';
export { gitErrorSummary } from '../git-errors.ts';

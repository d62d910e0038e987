/**
 * The public entry of @profiles/shared: the contracts between the services, named one by one so a reader sees
 * what they agree on: errors, catalog sources and profile definitions, configuration, events and their
 * subjects, Redis keys and the source state, installations and the install and scan messages, the API's
 * documents, and the shared rules of input (repository URLs, search terms, versions, bounded YAML).
 * The machinery of a running service (connections, the consumer runner, retry, logging, telemetry, health,
 * shutdown, redaction) is `@profiles/shared/runtime`; git access is `@profiles/shared/git`.
 */
export { AppError, describeError, type ErrorCode, ERRORS, isAppError, isStoreFailure } from './errors.ts';
export {
  API_GROUP,
  API_VERSION,
  CATALOG_SOURCE_KIND,
  type CatalogSourceDocument,
  type CatalogSourceSpec,
  checkCatalogSourceDocument,
  type CheckedEntry,
  checkInlineEntry,
  checkSourceAccess,
  DEFAULT_NAMESPACE,
  type DocumentCheck,
  type InlineProfileEntry,
  isValidNamespace,
  isValidObjectName,
  isValidProfileName,
  parseSourceId,
  PROFILE_DEFINITION_KIND,
  type RepositoryRef,
  type SourceAccess,
  sourceId,
  type SourceRef,
} from './catalog-source.ts';
export { type AuthConfig, type Config, loadConfig, urlPolicyOf } from './config.ts';
export { CONFIG_VARS, type ConfigVar } from './config-vars.ts';
export {
  assertEvent,
  type CloudEvent,
  decodeEvent,
  encodeEvent,
  EVENT_DATA_SCHEMAS,
  EVENT_TYPES,
  type EventType,
  FileError,
  isEventOf,
  makeEvent,
  type SourceDeleted,
  SourceDeletedData,
  type SourceRefresh,
  SourceRefreshData,
  SourceRemovedData,
  type SourceResult,
  SourceResultData,
  type SourcesSnapshot,
  SourcesSnapshotData,
  type SourceUpserted,
  SourceUpsertedData,
  VersionData,
  type VersionEventData,
} from './events.ts';
export {
  type ConsumerSpec,
  CONSUMERS,
  INSTALL_CONSUMERS,
  INSTALL_PARTITIONS,
  INSTALLER_SUBJECTS,
  installPartition,
  repositoryToken,
  STREAMS,
  SUBJECTS,
  subjectToken,
  tokenToName,
} from './subjects.ts';
export {
  type CatalogEntry,
  catalogKeys,
  type CatalogKeys,
  installationKeys,
  type InstallationKeys,
  parseProfileNameMember,
  profileNameMember,
  SEARCH_LAYOUT_VERSION,
  type RepoTagState,
  type ScannedRepository,
  type SourceStatus,
} from './keys.ts';
export {
  readSourceState,
  type SourceField,
  sourceFields,
  sourceRepos,
  type SourceState,
  sourceStateOf,
} from './source-state.ts';
export { ALL_SOURCES, bumpGeneration, bumpGenerationCommand, parseGenerationMessage } from './generation.ts';
export {
  type ArtifactPatches,
  type ArtifactValuesFrom,
  type ConflictResolution,
  INSTALL_LAYOUTS,
  type InstallLayout,
  parseLayout,
  INSTALL_STATUS_MEANINGS,
  INSTALL_STATUSES,
  INSTALLATION_ID_ANNOTATION,
  INSTALLATION_TRAILER,
  type InstallationDoc,
  type InstallRequest,
  type InstallStatus,
  type InstallTarget,
  type KustomizePatch,
  type ProfileRef,
  type ProfileSource,
  type ProfileTreeNode,
  type PullRequestTarget,
  type SecretRef,
  TERMINAL_STATUSES,
  type ValidationFinding,
  type ValuesReference,
} from './installations.ts';
export {
  type FoundInstallation,
  FoundInstallationSchema,
  installMessage,
  type InstallMessage,
  InstallMessageSchema,
  installStatusMessage,
  type InstallStatusMessage,
  InstallStatusMessageSchema,
  type MessageCodec,
  type RepositoryScan,
  scanReply,
  ScanReplySchema,
  scanRequest,
  type ScanRequest,
  ScanRequestSchema,
} from './install-messages.ts';
export { checkTargetPath, checkValues, MAX_VALUES_DEPTH } from './install-checks.ts';
export {
  type NestedProfileNode,
  type Problem,
  type ProfileUpdatesDoc,
  type ProfileVersionDoc,
  type ProfileVersionsDoc,
  type SearchHit,
  type SearchResult,
  type SourceView,
} from './api-documents.ts';
export {
  type Artifact,
  type ChartArtifact,
  checkProfileDefinition,
  isSafeRelativePath,
  type ProfileDefinition,
  type ProfileSourceRef,
} from './profile-definition.ts';
export {
  checkProfileFiles,
  checkProfileFolder,
  type FileRequirement,
  fileRequirements,
  type FolderCheck,
  type ObjectType,
} from './profile-check.ts';
export { checkRepoUrl, normalizeRepoUrl, type UrlPolicy } from './repo-url.ts';
export {
  FIELD_WEIGHTS,
  MAX_TERM_LENGTH,
  SEARCH_FACETS,
  oneEditStrings,
  searchDocument,
  type SearchDocument,
  terms,
  TYPO_MIN_LENGTH,
  withinOneEdit,
} from './search-terms.ts';
export {
  decodeSearchSnapshot,
  encodeSearchSnapshot,
  SEARCH_SNAPSHOT_FORMAT,
  type SnapshotProfile,
} from './search-snapshot.ts';
export {
  compareVersionsDesc,
  isGreater,
  isPrerelease,
  normalizeVersion,
  type ParsedTag,
  parseTag,
} from './semver.ts';
export { DEFAULT_YAML_LIMITS, parseYaml, parseYamlDocuments, toYaml, type YamlLimits } from './yaml.ts';
export { scanYamlShape, type YamlShape, type YamlShapeLimits } from './yaml-bounds.ts';

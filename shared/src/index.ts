// The public entry of @profiles/shared: every contract between the services.
export * from './errors.ts';
export * from './log.ts';
export * from './semver.ts';
export * from './yaml.ts';
export * from './catalog-source.ts';
export * from './config.ts';
export * from './events.ts';
export * from './subjects.ts';
export * from './keys.ts';
export * from './retry.ts';
export * from './redis.ts';
export * from './nats.ts';
export * from './health.ts';
export * from './shutdown.ts';
export * from './profile-definition.ts';
export * from './repo-url.ts';
export * from './search-terms.ts';

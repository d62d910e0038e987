import type { InstallLayout } from '@profiles/shared';

/**
 * What differs between the two layouts an installation can be rendered in (InstallLayout in shared): object
 * names, the defaults ConfigMap, where a local chart is copied, the Helm release name and how Flux paths are
 * written. Everything else (API versions, intervals, `wait`, the root kustomization and the record) is the
 * same, so both validate against the same Flux schemas and upgrade the same way.
 */
export interface LayoutRules {
  layout: InstallLayout;
  /** The name parts of an artifact's objects, from the install name and the artifact chain. */
  objectParts(install: string, chain: string[]): string[];
  /** The ConfigMap of a chart's default values: its name suffix and its data key. */
  defaults: { suffix: string; key: string };
  /** Where a local chart is copied, relative to the artifact folder. */
  chartDir(localPath: string): string;
  /** The Helm release name's parts; undefined leaves Flux's default (the HelmRelease's name). */
  releaseName(chain: string[]): string[] | undefined;
  /** Whether `helm-chart/kustomization.yaml` is written for charts from a Helm repository too. */
  helmKustomizationAlways: boolean;
  /** A repository-relative path as Flux objects name it. */
  fluxPath(path: string): string;
}

const PROFILES: LayoutRules = {
  layout: 'profiles',
  objectParts: (install, chain) => [install, ...chain],
  defaults: { suffix: 'defaults', key: 'default.yaml' },
  chartDir: (localPath) => localPath,
  releaseName: () => undefined,
  helmKustomizationAlways: true,
  fluxPath: (p) => `./${p}`,
};

/** pctl's layout (`/work/shared/notes/pctl-reference.md` §5.4): names by the leaf artifact alone. */
const PCTL: LayoutRules = {
  layout: 'pctl',
  objectParts: (install, chain) => [install, chain[chain.length - 1]!],
  defaults: { suffix: 'defaultvalues', key: 'default-values.yaml' },
  chartDir: (localPath) => `helm-chart/${localPath}`,
  releaseName: (chain) => [chain[chain.length - 1]!],
  helmKustomizationAlways: false,
  fluxPath: (p) => p,
};

export function layoutRules(layout: InstallLayout | undefined): LayoutRules {
  return layout === 'pctl' ? PCTL : PROFILES;
}

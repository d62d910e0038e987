import * as k8s from '@kubernetes/client-node';
import { isAppError } from '@profiles/shared';

/** Kubernetes client config: an explicit kubeconfig file, else KUBECONFIG / ~/.kube/config / in-cluster. */
export function loadKubeConfig(kubeconfigPath?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromDefault();
  return kc;
}

export const GROUP = 'weave.works';
export const VERSION = 'v1alpha1';
export const PLURAL = 'profilecatalogsources';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation?: number;
    resourceVersion?: string;
    [k: string]: unknown;
  };
  spec?: unknown;
  status?: Record<string, unknown>;
}

/** The HTTP status of a client-node error (or of an AppError carrying the API server's), if it has one. */
export function statusOf(err: unknown): number | undefined {
  if (isAppError(err)) return typeof err.details?.status === 'number' ? err.details.status : undefined;
  const e = err as { code?: number; statusCode?: number; response?: { statusCode?: number } };
  return e?.code ?? e?.statusCode ?? e?.response?.statusCode;
}

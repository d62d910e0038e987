import { KubeConfig } from '@kubernetes/client-node';

/**
 * KUBECONFIG names a file for local use; in a pod (KUBERNETES_SERVICE_HOST set) the service-account token and
 * CA are used; otherwise ~/.kube/config. A config without a current cluster fails start-up with a clear error.
 */
export function loadKubeConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else if (env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster())
    throw new Error(
      `no Kubernetes cluster configured (${path ? `KUBECONFIG=${path}` : 'set KUBECONFIG or run in a pod'})`,
    );
  return kc;
}

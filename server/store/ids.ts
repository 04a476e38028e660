/**
 * Connection ids: `c<n>` on a single node; `<node>.<epoch>-<n>` in a cluster, where the epoch is one per
 * process (hub.ts), so a node restarted under its name gives out ids its previous process never did.
 */

/** The node part of a cluster connection id; '' for a single node's `c<n>`. */
export function nodeOf(connId: string): string {
  const dot = connId.indexOf('.');
  return dot < 0 ? '' : connId.slice(0, dot);
}

/** The process part of a cluster connection id (`<node>.<epoch>`): every connection that process held. */
export function processOf(connId: string): string {
  return connId.slice(0, connId.lastIndexOf('-'));
}

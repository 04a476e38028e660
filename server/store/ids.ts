/** The node part of a cluster connection id (`<node>.<n>`); '' for a single node's `c<n>`. */
export function nodeOf(connId: string): string {
  const dot = connId.indexOf('.');
  return dot < 0 ? '' : connId.slice(0, dot);
}

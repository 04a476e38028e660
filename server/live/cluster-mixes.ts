/**
 * Live mixes across several nodes: a live room's mix runs on one node, the one its media is placed on (the mix
 * pulls the stage from that media server and publishes to it, so its streams never cross the network twice).
 * Whichever node handles a request that changes the stage (a co-host on another node going on stage, the host
 * rejoining elsewhere) sends the change there over the bus; a mix whose media moved (its node died or drained)
 * starts on the node it moved to, since `update` starts a mix that is not running. A stop goes to every node: the
 * one that ends the room may not know where the mix ran.
 */
import type { LiveMixes, LiveMixRoom } from './mixes';

export type MixMessage =
  { t: 'mix'; op: 'start' | 'update'; room: LiveMixRoom } | { t: 'mix'; op: 'stop'; cid: string };

export interface ClusterMixesOptions {
  /** This node's id. */
  self: string;
  /** The node a stream's media server is on. */
  nodeOf(stream: string): string;
  send(node: string, message: MixMessage): void;
  broadcast(message: MixMessage): void;
}

export function createClusterMixes(
  local: LiveMixes,
  options: ClusterMixesOptions,
): LiveMixes & { receive(message: MixMessage): void } {
  const route = (op: 'start' | 'update', room: LiveMixRoom): void => {
    const owner = options.nodeOf(room.stream);
    if (owner === options.self) local[op](room);
    else options.send(owner, { t: 'mix', op, room });
  };
  return {
    start: (room) => route('start', room),
    update: (room) => route('update', room),
    stop: (cid) => {
      local.stop(cid);
      options.broadcast({ t: 'mix', op: 'stop', cid });
    },
    /** A message of the bus for this node (a broadcast stop comes from another node: its sender stopped its own). */
    receive: (message) => {
      if (message.op === 'stop') local.stop(message.cid);
      else local[message.op](message.room);
    },
  };
}

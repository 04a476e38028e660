/**
 * The RTMP front of the media worker: our own listener, and per connection an NMS RtmpSession whose parser
 * is guarded before it runs.
 *
 * Owns: refusing, on one connection at a time, anything that is not a well-formed publish or play of an
 * authorised stream: a bad handshake version, malformed chunk headers and control messages, oversized
 * messages, media before a stream command, malformed or unexpected AMF commands (connect without app 'live'
 * and a parseable tcUrl; publish/play without a prior connect, a well-formed `<name>?sign=…`, a valid
 * signature and an authorised stream; a second stream command; createStream beyond a few), connections that
 * take too long to ask, peers that do not read their replies, publishers gone silent, and addresses over
 * their connection cap. Every refusal destroys that socket only. It must never let a throw from NMS's parser
 * escape: node-media-server 4.4.3 src/protocol/rtmp.js throws on several malformed inputs (new URL() in
 * onConnect, .split on a missing stream name, readUInt32BE on short control payloads), which would kill the
 * worker; and never let a client make NMS write replies without bound (it writes them unchecked).
 */
import net from 'node:net';
import { MAX_PLAYER_BACKLOG_BYTES, type Engine } from './engine';
import { decodeAmf0Cmd, RtmpSession, type NmsRtmpSession } from './nms';
import { APP, isStreamName, parseStreamRequest, streamPathOf } from './sign';
import { describe, isRecord, quote } from './values';

const RTMP_VERSION = 3;
const TYPE_SET_CHUNK_SIZE = 1;
const TYPE_PEER_BANDWIDTH = 6;
const TYPE_AUDIO = 8;
const TYPE_VIDEO = 9;
const TYPE_FLEX_STREAM = 15;
const TYPE_FLEX_MESSAGE = 17;
const TYPE_DATA = 18;
const MEDIA_TYPES = new Set([TYPE_AUDIO, TYPE_VIDEO, TYPE_FLEX_STREAM, TYPE_DATA]);
const MAX_CHUNK_SIZE = 0x7fffffff;

/** Commands, control and metadata messages are small; NMS allocates whatever length a header declares. */
const MAX_MESSAGE_BYTES = 64 * 1024;
/** An accepted publisher's audio/video frames (a 1080p keyframe is well under this). */
const MAX_MEDIA_MESSAGE_BYTES = 4 * 1024 * 1024;
/** ffmpeg, OBS and librtmp use fewer than 8; each one holds a reassembly buffer. */
const MAX_CHUNK_STREAMS = 16;
/** Clients send one; each one NMS answers, unchecked, so a loop of them would grow our output without end. */
const MAX_CREATE_STREAMS = 4;
/**
 * Unsent replies a connection may leave before it asked for a stream: the handshake (3 KB), connect's and a
 * few createStreams' answers fit many times over. After that, the player backlog cap applies.
 */
const MAX_REPLY_BACKLOG_BYTES = 64 * 1024;
/** What NMS still needs once a stream runs; everything else is dropped (NMS ignores unknown commands too). */
const AFTER_ACCEPT = new Set(['deleteStream', 'closeStream', 'FCUnpublish']);
/** Idle time before the OS starts probing a publisher's connection for a peer that vanished without a FIN. */
const KEEPALIVE_DELAY_MS = 10_000;

/** Thrown from inside NMS's parser by our guards; caught by the session's onData wrapper. */
class Refusal extends Error {
  constructor(
    readonly reason: string,
    /** The stream path asked for, when the request got that far. */
    readonly stream?: string,
  ) {
    super(reason);
  }
}

type Command = 'publish' | 'play';

interface Guard {
  connected: boolean;
  command: Command | null;
  createStreams: number;
  refused: boolean;
}

export function createRtmpFront(engine: Engine): net.Server {
  const server = net.createServer({ noDelay: true }, (socket) => accept(engine, socket));
  server.maxConnections = engine.config.maxConnections;
  // At info: a client can cause one per connection attempt, and warn lines are never rate-limited.
  server.on('drop', (data?: net.DropArgument) =>
    engine.refused('rtmp', `${data?.remoteAddress}:${data?.remotePort}`, 'the front is at maxConnections'),
  );
  server.on('error', (error) => engine.log('warn', 'rtmp listener error', { err: describe(error) }));
  return server;
}

function accept(engine: Engine, socket: net.Socket): void {
  socket.on('error', () => {}); // a reset before NMS attaches its handler must not become uncaught
  if (!engine.admit(socket)) {
    engine.refused(
      'rtmp',
      `${socket.remoteAddress}:${socket.remotePort}`,
      'too many connections from this address',
    );
    socket.destroy();
    return;
  }
  let session: NmsRtmpSession;
  try {
    session = new RtmpSession(socket);
  } catch (error) {
    engine.log('warn', 'rtmp session construction failed', { err: describe(error) });
    socket.destroy();
    return;
  }
  const guard: Guard = { connected: false, command: null, createStreams: 0, refused: false };
  const refuse = (reason: string, stream = session.streamPath): void => {
    if (guard.refused) return;
    guard.refused = true;
    clearTimeout(deadline);
    engine.refused('rtmp', session.ip, reason, stream ? { stream } : undefined);
    engine.cut(session);
  };
  const deadline = setTimeout(
    () => refuse('no valid publish or play in time'),
    engine.config.requestTimeoutMs,
  );
  socket.once('close', () => clearTimeout(deadline));

  guardParser(session, guard, engine, (command) => {
    clearTimeout(deadline);
    if (command === 'publish') {
      // A publisher that went silent is gone (a phone that changed networks leaves a half-open socket) and
      // would hold the stream against its own reconnection: cut it. It sends media continuously and we send
      // it nothing, so the socket's idle time is its silence.
      socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
      socket.setTimeout(engine.config.publishIdleTimeoutMs);
      socket.once('timeout', () =>
        refuse(`publisher sent nothing for ${engine.config.publishIdleTimeoutMs} ms`),
      );
    }
  });

  const nmsOnData = session.onData;
  session.onData = (data) => {
    if (guard.refused) return;
    try {
      if (session.rtmp.handshakeState === 0 && data.length > 0 && data[0] !== RTMP_VERSION)
        throw new Refusal(`handshake version ${data[0]} is not RTMP ${RTMP_VERSION}`);
      nmsOnData(data);
      // NMS writes its replies to the socket without looking at backpressure.
      const limit = guard.command === null ? MAX_REPLY_BACKLOG_BYTES : MAX_PLAYER_BACKLOG_BYTES;
      if (socket.writableLength > limit)
        throw new Refusal(`does not read its replies (${socket.writableLength} bytes unsent)`);
    } catch (error) {
      if (error instanceof Refusal) refuse(error.reason, error.stream ?? session.streamPath);
      else refuse(`protocol error: ${describe(error)}`);
    }
  };

  engine.adopt(session, 'rtmp');
  session.run();
  // After run(), which points the parser's packet callback at the broadcast: only the stream's registered
  // publisher reaches subscribers. NMS 4.4.3 would forward media from any session on the path (a player,
  // or a refused publisher whose socket is only half-closed).
  let dropped = 0;
  session.rtmp.onPacketCallback = (packet) => {
    if (engine.mayForward(session)) session.onPacket(packet);
    else dropped++;
  };
  socket.once('close', () => {
    if (dropped > 0)
      engine.log('info', 'media from a session that is not the publisher dropped', {
        protocol: 'rtmp',
        ip: session.ip,
        stream: session.streamPath,
        packets: dropped,
      });
  });
}

/** Installs the validating wrappers on one session's parser instance (the class stays untouched). */
function guardParser(
  session: NmsRtmpSession,
  guard: Guard,
  engine: Engine,
  accepted: (command: Command) => void,
): void {
  const { rtmp, socket } = session;
  const nmsHeaderRead = rtmp.chunkMessageHeaderRead.bind(rtmp);
  rtmp.chunkMessageHeaderRead = () => {
    const packet = rtmp.parserPacket;
    const midMessage = packet.bytes > 0;
    const lengthBefore = packet.header.length;
    const offset = nmsHeaderRead();
    const { length, type } = packet.header;
    if (rtmp.inPackets.size > MAX_CHUNK_STREAMS)
      throw new Refusal(`more than ${MAX_CHUNK_STREAMS} chunk streams`);
    if (midMessage && length !== lengthBefore) throw new Refusal('message length changed mid-message');
    if (MEDIA_TYPES.has(type) && guard.command === null)
      throw new Refusal(`media message (type ${type}) before publish or play`);
    const limit =
      guard.command === 'publish' && (type === TYPE_AUDIO || type === TYPE_VIDEO)
        ? MAX_MEDIA_MESSAGE_BYTES
        : MAX_MESSAGE_BYTES;
    if (length > limit) throw new Refusal(`message of ${length} bytes (type ${type}) exceeds ${limit}`);
    return offset;
  };

  const nmsControl = rtmp.controlHandler.bind(rtmp);
  rtmp.controlHandler = () => {
    // NMS calls this for the control types 1, 2, 3, 5 and 6 only.
    const { header, payload } = rtmp.parserPacket;
    const expected = header.type === TYPE_PEER_BANDWIDTH ? 5 : 4;
    if (header.length !== expected)
      throw new Refusal(`control message ${header.type} of ${header.length} bytes (expected ${expected})`);
    if (header.type === TYPE_SET_CHUNK_SIZE) {
      const size = payload.readUInt32BE(0);
      if (size < 1 || size > MAX_CHUNK_SIZE) throw new Refusal(`set-chunk-size ${size} out of range`);
    }
    nmsControl();
  };

  const nmsInvoke = rtmp.invokeHandler.bind(rtmp);
  rtmp.invokeHandler = () => {
    const { header, payload } = rtmp.parserPacket;
    const body = payload.subarray(header.type === TYPE_FLEX_MESSAGE ? 1 : 0, header.length);
    let command: Record<string, unknown>;
    try {
      const decoded = decodeAmf0Cmd(body);
      if (!isRecord(decoded)) throw new Error('not a command');
      command = decoded;
    } catch (error) {
      throw new Refusal(`malformed AMF command: ${describe(error)}`);
    }
    const name = command.cmd;
    if (name === 'connect') {
      if (guard.connected) throw new Refusal('second connect');
      checkConnect(command);
      guard.connected = true;
    } else if (name === 'publish' || name === 'play') {
      const stream = requestedPath(command.streamName);
      if (!guard.connected) throw new Refusal(`${name} before connect`, stream);
      if (guard.command !== null)
        throw new Refusal(`${name} after ${guard.command} on one connection`, stream);
      const request = parseStreamRequest(command.streamName);
      if (!request.ok) throw new Refusal(`${name}: ${request.error}`, stream);
      const denied =
        name === 'publish' ? engine.checkPublish(request.value) : engine.checkPlay(request.value);
      if (denied !== null) throw new Refusal(`${name}: ${denied}`, stream);
      guard.command = name;
      accepted(name);
      nmsInvoke();
      // NMS refuses on its own by ending the socket (the checks above should leave it no reason to); make
      // that a real close and a logged refusal rather than a half-open connection it keeps parsing.
      if (socket.writableEnded || socket.destroyed)
        throw new Refusal(`${name}: refused by node-media-server`, stream);
      engine.log('info', `${name} accepted`, { protocol: 'rtmp', ip: session.ip, stream });
      return;
    } else if (typeof name !== 'string') {
      throw new Refusal('AMF command without a name');
    } else if (name === 'createStream' && ++guard.createStreams > MAX_CREATE_STREAMS) {
      throw new Refusal(`more than ${MAX_CREATE_STREAMS} createStream commands`);
    }
    if (guard.command !== null && !AFTER_ACCEPT.has(name)) return;
    nmsInvoke();
  };
}

/** `/live/<name>` of a publish/play argument, for logs, when its name part is one we could have issued. */
function requestedPath(streamName: unknown): string | undefined {
  if (typeof streamName !== 'string') return undefined;
  const name = streamName.split('?')[0];
  return isStreamName(name) ? streamPathOf(name) : undefined;
}

/** What NMS's onConnect reads unchecked: an object with app 'live', a tcUrl `new URL()` accepts. */
function checkConnect(command: Record<string, unknown>): void {
  const cmdObj = command.cmdObj;
  if (!isRecord(cmdObj)) throw new Refusal('connect without a command object');
  if (cmdObj.app !== APP) throw new Refusal(`connect to app ${quote(cmdObj.app)}`);
  if (typeof cmdObj.tcUrl !== 'string') throw new Refusal('connect without a tcUrl');
  try {
    new URL(cmdObj.tcUrl);
  } catch {
    throw new Refusal('connect with an unparseable tcUrl');
  }
  if (cmdObj.objectEncoding != null && typeof cmdObj.objectEncoding !== 'number')
    throw new Refusal('connect with a non-numeric objectEncoding');
  if (typeof command.transId !== 'number') throw new Refusal('connect without a transaction id');
}

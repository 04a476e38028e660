/**
 * The hook between live-room signalling and the mixer: signalling says when a live room's mix must start (the
 * host's first push), when its stage changed (re-lay out), and when it ends; an implementation composes the stage
 * into the room's live stream. Signalling hands over everything the mix needs as plain data (URLs already signed
 * and authorised), so an implementation never reads the state store or the media plane's secrets.
 *
 * Must never throw into signalling: a failed mix is the mixer's to log and retry, the room goes on.
 * The default (`noLiveMixes`) mixes nothing: rooms, roles and the directory work without ffmpeg.
 * `createMixerMixes` is the real one: a `Mixer` per live room, its HLS in a folder of the room's own, and its
 * recording beside a small JSON record of whose it is (what `GET /api/recordings` lists).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { MediaMode, SessionConfig } from '../../services/protocol';
import {
  Layout,
  isSplitMode,
  parseCustomLayout,
  type Rect,
  type SplitMode,
} from '../../services/protocol/live';
import type { Canvas } from './layout';
import { Mixer, type StageInput } from './mixer';

/** One member on stage that pushes: where the mixer pulls it from. */
export interface LiveMixMember {
  account: string;
  uid: string;
  role: 'host' | 'cohost';
  mode: MediaMode;
  /** RTMP play URL of the member's stream on our media server (signed, authorised while it is on stage). */
  url: string;
}

/** A live room as the mixer sees it, at one moment. */
export interface LiveMixRoom {
  cid: string;
  channelName: string;
  /** The host's settings: `splitMode`, `layout` (already checked: it parses), `rtmpUrl`, `rtmpRecord`. */
  sessionConfig: SessionConfig;
  /** The room's own live stream: its name on the media plane, and the push URL the mix publishes with. */
  stream: string;
  pushUrl: string;
  /** Host first, then co-hosts in the order they went on stage; only members that started RTC. */
  stage: LiveMixMember[];
}

export interface LiveMixes {
  /** The host started pushing (its first `startRtc`): start composing `room.stage` into `room.pushUrl`. */
  start(room: LiveMixRoom): void;
  /** The stage changed (a co-host started pushing or left it, a mode changed, the host rejoined): re-lay out. */
  update(room: LiveMixRoom): void;
  /** The room closed: stop the mix (its stream is being revoked). Idempotent. */
  stop(cid: string): void;
}

/** No mix: the hook's default until a mixer is wired in. */
export const noLiveMixes: LiveMixes = {
  start: () => undefined,
  update: () => undefined,
  stop: () => undefined,
};

// ---- the real one: a Mixer per live room ------------------------------------------------------------------

/** What a recording's JSON record (`<recording>.json`) holds: enough to list it for its host only. */
export interface RecordingRecord {
  host: string;
  channelName: string;
  cid: string;
  /** The recording's files, in order (more than one only after the mix's publisher had to restart). */
  files: string[];
  startedAt: number;
  /** null while it records, or when the server stopped without finishing it. */
  endedAt: number | null;
}

export const RECORDING_RECORD_SUFFIX = '.json';
/** Recordings are fragmented MP4: a browser plays one as it is, and a crash leaves what was written readable. */
export const RECORDING_EXTENSION = '.mp4';

export interface MixerMixesOptions {
  ffmpegPath: string;
  /** Each room's HLS goes to `<hlsRoot>/<cid>/` (removed when its mix stops). */
  hlsRoot: string;
  /** `rtmpRecord` rooms record here, each file beside its RecordingRecord. */
  recordingsDir: string;
  log: Logger;
  canvas?: Canvas;
  /** Mixes running at once; a live room past it goes on unmixed (logged). Default 16. */
  maxMixes?: number;
  now?: () => number;
}

export interface MixerMixes extends LiveMixes {
  /** Where a running mix writes its HLS, or undefined when that room has no mix. */
  hlsDirOf(cid: string): string | undefined;
  /** Stops every mix and resolves when no mix process runs any more; start() is refused from then on. */
  close(): Promise<void>;
}

/** cids are our own hex, but a folder name is checked anyway: it must never climb out of its root. */
const SAFE_SEGMENT = /^[A-Za-z0-9_-]{1,128}$/;

interface RunningMix {
  mixer: Mixer;
  hlsDir: string | undefined;
  /** The live stream (and bypass) the mixer publishes to, without signatures: a change needs a new mixer. */
  target: string;
  record: { file: string; meta: RecordingRecord } | null;
}

/** Where a URL points, without its query (signatures change on every issue). */
const origin = (url: string): string => url.replace(/\?.*$/, '');

export function createMixerMixes(options: MixerMixesOptions): MixerMixes {
  const { log } = options;
  const now = options.now ?? Date.now;
  const maxMixes = options.maxMixes ?? 16;
  const mixes = new Map<string, RunningMix>();
  const stopping = new Set<Promise<void>>();
  let closed = false;

  const outputsOf = (room: LiveMixRoom): string[] => [
    room.pushUrl,
    ...(room.sessionConfig.rtmpUrl ? [room.sessionConfig.rtmpUrl] : []),
  ];

  function stageOf(room: LiveMixRoom): {
    inputs: StageInput[];
    mode: SplitMode;
    custom: Rect[] | undefined;
  } {
    const requested = room.sessionConfig.splitMode;
    // NetEase's default for the interactive-live mix (its demo passes it too): the lattice tile.
    const mode: SplitMode = isSplitMode(requested) ? requested : Layout.LAYOUT_SPLITLATTICETILE;
    const custom =
      mode === Layout.LAYOUT_SPLITCUSTOMLAYOUT && room.sessionConfig.layout !== undefined
        ? parseCustomLayout(room.sessionConfig.layout)
        : undefined;
    // `room.stage` comes host first (the LiveMixRoom contract), which is the order layout() expects.
    const inputs = room.stage.map((member) => ({
      uid: member.uid,
      url: member.url,
      // NetEase's modes: 0 audio+video, 1 audio only; 2 (video only) and 3 send no sound to mix.
      audio: member.mode === 0 || member.mode === 1,
    }));
    return { inputs, mode, custom };
  }

  function setStage(cid: string, mix: RunningMix, room: LiveMixRoom): void {
    try {
      const { inputs, mode, custom } = stageOf(room);
      mix.mixer.setStage(inputs, mode, custom);
    } catch (error) {
      // Signalling checked the layout when the host joined; anything else is ours to log, the mix goes on.
      log.warn({ cid, err: String(error) }, 'live mix: the stage could not be laid out');
    }
  }

  function writeRecord(file: string, meta: RecordingRecord): void {
    try {
      writeFileSync(`${file}${RECORDING_RECORD_SUFFIX}`, JSON.stringify(meta));
    } catch (error) {
      log.warn({ file, err: String(error) }, 'live recording: its record could not be written');
    }
  }

  function begin(room: LiveMixRoom): void {
    if (!SAFE_SEGMENT.test(room.cid)) {
      log.warn({ cid: room.cid }, 'live mix: a room id unfit for a folder name; not mixed');
      return;
    }
    if (mixes.size >= maxMixes) {
      log.warn({ cid: room.cid, maxMixes }, 'live mix: too many mixes running; this room goes unmixed');
      return;
    }
    const hlsDir = path.join(options.hlsRoot, room.cid);
    const startedAt = now();
    let record: RunningMix['record'] = null;
    if (room.sessionConfig.rtmpRecord) {
      const host = room.stage.find((m) => m.role === 'host')?.account ?? '';
      const file = path.join(options.recordingsDir, `${room.cid}-${startedAt}${RECORDING_EXTENSION}`);
      record = {
        file,
        meta: {
          host,
          channelName: room.channelName,
          cid: room.cid,
          files: [path.basename(file)],
          startedAt,
          endedAt: null,
        },
      };
    }
    let mixer: Mixer;
    try {
      if (record) mkdirSync(options.recordingsDir, { recursive: true });
      mixer = new Mixer({
        ffmpegPath: options.ffmpegPath,
        outputs: outputsOf(room),
        hlsDir,
        recordFile: record?.file,
        canvas: options.canvas,
        log: log.child({ component: 'live-mix', cid: room.cid }),
      });
    } catch (error) {
      log.warn({ cid: room.cid, err: String(error) }, 'live mix could not start');
      return;
    }
    // Its failures are logged by the mixer itself; listening keeps an 'error' from ever being unhandled.
    mixer.on('error', () => undefined);
    if (record) writeRecord(record.file, record.meta);
    const mix: RunningMix = { mixer, hlsDir, target: outputsOf(room).map(origin).join(' '), record };
    mixes.set(room.cid, mix);
    setStage(room.cid, mix, room);
    log.info({ cid: room.cid, channelName: room.channelName, record: Boolean(record) }, 'live mix started');
  }

  function end(cid: string): Promise<void> {
    const mix = mixes.get(cid);
    if (!mix) return Promise.resolve();
    mixes.delete(cid);
    const done = mix.mixer
      .stop()
      .then(() => {
        if (mix.record) {
          const dir = path.dirname(mix.record.file);
          const files = mix.mixer.recordFiles().map((file) => path.relative(dir, file));
          writeRecord(mix.record.file, { ...mix.record.meta, files, endedAt: now() });
        }
        if (mix.hlsDir) rmSync(mix.hlsDir, { recursive: true, force: true });
        log.info({ cid }, 'live mix stopped');
      })
      .catch((error: unknown) => log.warn({ cid, err: String(error) }, 'live mix did not stop cleanly'));
    stopping.add(done);
    void done.then(() => stopping.delete(done));
    return done;
  }

  function update(room: LiveMixRoom): void {
    if (closed) return;
    const mix = mixes.get(room.cid);
    if (!mix) return begin(room);
    // The media plane moved (a restart on other ports): a publisher cannot change where it pushes, so the
    // mix starts over there. Otherwise the same publisher goes on, and only the stage's decoders change.
    if (outputsOf(room).map(origin).join(' ') !== mix.target) {
      void end(room.cid).then(() => {
        if (!closed && !mixes.has(room.cid)) begin(room);
      });
      return;
    }
    setStage(room.cid, mix, room);
  }

  return {
    start: (room) => {
      if (!closed && !mixes.has(room.cid)) begin(room);
      else update(room);
    },
    update,
    stop: (cid) => void end(cid),
    hlsDirOf: (cid) => mixes.get(cid)?.hlsDir,
    async close() {
      closed = true;
      for (const cid of [...mixes.keys()]) void end(cid);
      await Promise.all([...stopping]);
    },
  };
}

/**
 * The live mix of one live room: the stage's streams in, one continuous live stream out (to the room's own
 * stream on our media server, the host's bypass `rtmpUrl`, HLS files and a recording).
 *
 * How continuity is kept: one long-lived *publisher* ffmpeg encodes whatever this process hands it — raw
 * yuv420p frames on stdin and s16le PCM on fd 3 — and pushes it everywhere through the tee muxer. Its clock is
 * ours: a timer writes exactly one frame and 1/fps s of sound per tick, whatever the stage does, so its
 * timestamps never jump and its outputs never reconnect. Each stage member has its own *decoder* ffmpeg
 * (pull → scale to that member's picture size → raw frames + PCM); this process keeps each one's latest frame,
 * blits it into the canvas where `layout()` puts it, and sums the sound. A stage change only starts or stops
 * decoders and swaps the placements: a member whose picture keeps its size keeps its decoder; one whose size
 * changes gets a new decoder and shows its old frame, centred, until the new one delivers. Nobody on stage
 * yet, or a member not pushing yet: black and silence.
 *
 * Must never: crash the process on a child's failure (logged, reported as 'error' when someone listens),
 * leave a child behind after stop(), or block the event loop (a tick is a few row copies).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from 'pino';
import { Code, NetcallError } from '../../services/protocol/errors';
import type { FloatingCorner, Rect, SplitMode } from '../../services/protocol/live';
import { layout, type Canvas, type Placement } from './layout';

export interface MixerOptions {
  ffmpegPath: string;
  canvas?: Canvas;
  fps?: number;
  /** rtmp:// URLs: the room's own live stream push URL first, then the host's `rtmpUrl` if any. */
  outputs: string[];
  /** Also record the live stream here (.flv, .mp4 as fragmented MP4, or .ts). */
  recordFile?: string;
  /** Also write HLS here: HLS_PLAYLIST and its segments. */
  hlsDir?: string;
  log: Logger;
  videoBitrateKbps?: number;
}

export interface StageInput {
  uid: string;
  /** An RTMP play URL of the member's stream on our media server. */
  url: string;
  /** Mix the member's sound. */
  audio: boolean;
}

export const HLS_PLAYLIST = 'live.m3u8';
const SAMPLE_RATE = 44100;
const BLACK_Y = 16;
const BLACK_UV = 128;
/**
 * A decoder's sound comes in bursts (and stalls for a moment when the machine is busy, e.g. while another
 * decoder starts), so the mix holds this much of it before using it, and again after running dry.
 */
const AUDIO_PRIME_BYTES = Math.round(0.12 * SAMPLE_RATE) * 2;
/** More than this ahead (a GOP-cache burst at start) and the oldest is dropped, back down to the prime. */
const AUDIO_MAX_BYTES = Math.round(0.35 * SAMPLE_RATE) * 2;
/** Ticks the publisher may fall behind (its stdin backing up) before ticks are skipped rather than queued. */
const MAX_QUEUED_FRAMES = 8;
const STOP_GRACE_MS = 3000;
const STDERR_KEEP = 4096;
// Probe settings measured against our media server (backend.md §1.6): a decoder started before its member
// pushes sees the first frame soonest with no probing at all; one joining a running stream, with a little.
const PROBE_FRESH = [
  '-fflags',
  'nobuffer',
  '-flags',
  'low_delay',
  '-analyzeduration',
  '0',
  '-probesize',
  '32',
];
const PROBE_RUNNING = ['-analyzeduration', '500000', '-probesize', '32768'];
// Characters the tee muxer's spec parser gives meaning to; a URL or path with one cannot be passed through it.
const TEE_UNSAFE = /[|[\]\\'"\s]/;
const even = (value: number): number => 2 * Math.floor(value / 2);

interface Decoder {
  key: string;
  uid: string;
  url: string;
  child: ChildProcess;
  /** Output size of its pictures (0×0: sound only). */
  width: number;
  height: number;
  frame: Buffer | null;
  partial: Buffer | null;
  filled: number;
  audio: Buffer;
  /** Its sound is being mixed (enough of it was held); false again when it runs dry. */
  primed: boolean;
  stderr: string;
  stopping: boolean;
}

interface Slot {
  placement: Placement | null;
  input: StageInput;
  decoder: Decoder | null;
  /** The member's decoder before a size change, shown until `decoder` has a frame. */
  previous: Decoder | null;
}

export type MixerEvents = {
  /** The first frame went to the publisher: the live stream exists from now on. */
  started: [];
  /** A member's picture entered the mix (its decoder's first frame). */
  showing: [info: { uid: string }];
  /** A child failed; already logged. Emitted only while someone listens, so it never throws. */
  error: [error: Error];
  /** stop() finished: no child runs any more. */
  exit: [];
};

export class Mixer extends EventEmitter<MixerEvents> {
  private readonly canvas: Canvas;
  private readonly fps: number;
  private readonly log: Logger;
  private readonly frameBytes: number;
  private readonly image: Buffer;
  private slots: Slot[] = [];
  private decoders = new Set<Decoder>();
  private publisher: ChildProcess | null = null;
  private publisherRestarts = 0;
  /** Publishers started so far: each after the first records to a file of its own (see recordFiles()). */
  private publishers = 0;
  private readonly recorded: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private epoch = 0;
  private ticks = 0;
  private samples = 0;
  private started = false;
  private stopped: Promise<void> | null = null;
  private readonly children = new Set<ChildProcess>();

  constructor(private readonly options: MixerOptions) {
    super();
    this.canvas = options.canvas ?? { width: 640, height: 360 };
    this.fps = options.fps ?? 15;
    this.log = options.log;
    const { width, height } = this.canvas;
    if (width % 2 || height % 2 || width < 16 || height < 16)
      throw new NetcallError(Code.BAD_REQUEST, 'mixer canvas must be even and at least 16×16');
    if (options.outputs.length === 0) throw new NetcallError(Code.BAD_REQUEST, 'mixer needs an output');
    for (const target of [...options.outputs, options.recordFile, options.hlsDir])
      if (target !== undefined && TEE_UNSAFE.test(target))
        throw new NetcallError(
          Code.BAD_REQUEST,
          `mixer output has a character ffmpeg's tee cannot take: ${target}`,
        );
    for (const url of options.outputs)
      if (!/^rtmps?:\/\//.test(url)) throw new NetcallError(Code.BAD_REQUEST, `not an rtmp:// URL: ${url}`);
    if (options.hlsDir) mkdirSync(options.hlsDir, { recursive: true });
    if (options.recordFile) mkdirSync(path.dirname(options.recordFile), { recursive: true });
    this.frameBytes = (width * height * 3) / 2;
    this.image = Buffer.alloc(this.frameBytes);
    this.startPublisher();
    this.epoch = Date.now();
    this.schedule();
  }

  /**
   * Files the recording went to: `recordFile`, then `<name>-part<n><ext>` for each publisher restarted after a
   * failure (a new publisher writing to the same path would truncate what the room recorded so far).
   */
  recordFiles(): string[] {
    return [...this.recorded];
  }

  /** OS pids of the ffmpeg processes running now (the publisher and every decoder). */
  pids(): number[] {
    return [...this.children]
      .filter(isRunning)
      .map((child) => child.pid)
      .filter((pid): pid is number => pid !== undefined);
  }

  /**
   * The stage now: `inputs` host first. Takes effect at the next tick; the live stream goes on uninterrupted.
   * Throws NetcallError 208 for the custom mode without a layout (nothing changes then).
   */
  setStage(
    inputs: readonly StageInput[],
    mode: SplitMode,
    custom?: readonly Rect[],
    corner?: FloatingCorner,
  ): void {
    if (this.stopped) return;
    const placements = layout(
      mode,
      inputs.map((input) => input.uid),
      this.canvas,
      custom,
      corner,
    );
    const byUid = new Map(placements.map((placement) => [placement.uid, placement]));
    const old = new Map(this.slots.map((slot) => [slot.input.uid, slot]));
    const keep = new Set<Decoder>();
    this.slots = inputs.map((input) => {
      const placement = byUid.get(input.uid) ?? null;
      const before = old.get(input.uid);
      const key = decoderKey(input, placement);
      const current = before?.decoder ?? null;
      if (key === null) return { placement, input, decoder: null, previous: null };
      if (current && current.key === key) {
        keep.add(current);
        const previous = before?.previous && !current.frame ? before.previous : null;
        if (previous) keep.add(previous);
        return { placement, input, decoder: current, previous };
      }
      // The member's last picture stands in while the new decoder starts (only from the same stream).
      const stand = [current, before?.previous ?? null].find((d) => d?.frame && d.url === input.url) ?? null;
      if (stand) keep.add(stand);
      const decoder = this.startDecoder(input, placement, key, Boolean(current?.frame));
      keep.add(decoder);
      return { placement, input, decoder, previous: stand };
    });
    for (const decoder of this.decoders) if (!keep.has(decoder)) this.stopDecoder(decoder);
    this.log.info({ uids: inputs.map((i) => i.uid), mode }, 'live mix re-laid out');
  }

  /** Stops every ffmpeg (the publisher last, after it has finished its files). Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      for (const decoder of [...this.decoders]) this.stopDecoder(decoder);
      this.slots = [];
      const publisher = this.publisher;
      this.publisher = null;
      if (publisher && isRunning(publisher)) {
        // Closing its inputs lets it flush the recording and end the HLS playlist; a stuck push gets killed.
        publisher.stdin?.end();
        (publisher.stdio[3] as Writable | null)?.end();
        const killer = setTimeout(() => publisher.kill('SIGKILL'), STOP_GRACE_MS);
        await exitOf(publisher);
        clearTimeout(killer);
      }
      await Promise.all([...this.children].map(exitOf));
      this.emit('exit');
    })();
    return this.stopped;
  }

  private report(error: Error): void {
    this.log.warn({ err: error }, 'live mix');
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  private spawnChild(args: string[], stdio: Array<'pipe' | 'ignore'>): ChildProcess {
    const child = spawn(this.options.ffmpegPath, args, { stdio });
    this.children.add(child);
    child.once('close', () => this.children.delete(child));
    child.on('error', (error) => {
      this.children.delete(child);
      this.report(new Error(`ffmpeg could not run: ${error.message}`));
    });
    for (const stream of child.stdio) stream?.on('error', () => {}); // EPIPE after a child dies: its exit says why
    return child;
  }

  private publisherArgs(): string[] {
    const { width, height } = this.canvas;
    const kbps = this.options.videoBitrateKbps ?? 700;
    const slaves = this.options.outputs.map((url) => `[f=flv:onfail=ignore]${url}`);
    if (this.options.hlsDir) {
      const dir = this.options.hlsDir;
      slaves.push(
        `[f=hls:onfail=ignore:hls_time=1:hls_list_size=6:hls_flags=delete_segments:` +
          `hls_segment_filename=${path.join(dir, 'live-%d.ts')}]${path.join(dir, HLS_PLAYLIST)}`,
      );
    }
    const record = this.recordTarget();
    if (record) {
      const format = record.endsWith('.mp4')
        ? 'mp4:movflags=+frag_keyframe+empty_moov+default_base_moof'
        : record.endsWith('.ts')
          ? 'mpegts'
          : 'flv';
      slaves.push(`[f=${format}:onfail=ignore]${record}`);
    }
    const { fps } = this;
    // Video on stdin, sound on fd 3. Both raw, so nothing to probe: ffmpeg opens its inputs one after the other,
    // and probing the sound for its default 5 s would leave the video pipe full and both sides waiting.
    const raw = '-thread_queue_size 64 -analyzeduration 0 -probesize 32';
    return [
      ...words(`-hide_banner -nostdin -loglevel warning`),
      ...words(`${raw} -f rawvideo -pix_fmt yuv420p -s ${width}x${height} -r ${fps} -i pipe:0`),
      ...words(`${raw} -f s16le -ar ${SAMPLE_RATE} -ac 1 -i pipe:3`),
      // Baseline H.264 with a 1 s GOP: what <live-player> decodes everywhere, and late joiners start within 1 s.
      ...words(`-map 0:v -map 1:a -c:v libx264 -preset veryfast -tune zerolatency -profile:v baseline`),
      ...words(`-pix_fmt yuv420p -g ${fps} -keyint_min ${fps} -sc_threshold 0`),
      ...words(`-b:v ${kbps}k -maxrate ${kbps}k -bufsize ${kbps * 2}k -c:a aac -b:a 64k`),
      // The tee muxer hides its outputs' needs from the encoders: without global headers x264 puts SPS/PPS only
      // in-band and FLV gets Annex B packets, which ffmpeg decodes but browser players (mpegts.js) refuse.
      ...words(`-flags +global_header`),
      ...['-f', 'tee', slaves.join('|')],
    ];
  }

  /** Where this publisher records: the file asked for, or a new part of it after a restart. */
  private recordTarget(): string | undefined {
    const file = this.options.recordFile;
    if (!file) return undefined;
    const generation = this.publishers;
    const ext = path.extname(file);
    const target =
      generation === 0 ? file : `${file.slice(0, file.length - ext.length)}-part${generation}${ext}`;
    this.recorded.push(target);
    return target;
  }

  private outputName(index: number): string {
    const { outputs, hlsDir } = this.options;
    if (index < outputs.length) return index === 0 ? 'live stream' : `bypass ${outputs[index]}`;
    return index === outputs.length && hlsDir ? 'HLS' : 'recording';
  }

  private startPublisher(): void {
    const child = this.spawnChild(this.publisherArgs(), ['pipe', 'ignore', 'pipe', 'pipe']);
    this.publishers++;
    this.publisher = child;
    const since = Date.now();
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      stderr = (stderr + text).slice(-STDERR_KEEP);
      // tee goes on without a failed output (so a dead bypass server costs the room nothing), but the room's
      // own stream must not stay dead: that one starts the publisher over.
      const failed = /Slave muxer #(\d+) failed/.exec(text);
      if (failed) {
        const index = Number(failed[1]);
        this.report(new Error(`live output ${this.outputName(index)} failed: ${text.trim().slice(0, 300)}`));
        if (index === 0) child.kill('SIGKILL');
      }
    });
    child.once('close', (code, signal) => {
      if (this.stopped || this.publisher !== child) return;
      this.publisher = null;
      this.report(new Error(`live publisher exited (${code ?? signal}): ${stderr.trim().slice(-500)}`));
      if (Date.now() - since > 30_000) this.publisherRestarts = 0;
      const delay = Math.min(8000, 500 * 2 ** this.publisherRestarts++);
      setTimeout(() => {
        if (!this.stopped) this.startPublisher();
      }, delay).unref();
    });
  }

  private startDecoder(
    input: StageInput,
    placement: Placement | null,
    key: string,
    running: boolean,
  ): Decoder {
    const args = [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      ...(running ? PROBE_RUNNING : PROBE_FRESH),
    ];
    args.push('-i', input.url);
    if (placement) {
      const { width: w, height: h } = placement;
      const fit =
        placement.fit === 'contain'
          ? `scale=${w}:${h}:force_original_aspect_ratio=decrease,scale=trunc(iw/2)*2:trunc(ih/2)*2,` +
            `pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:black`
          : `scale=${w}:${h}:force_original_aspect_ratio=increase,crop=${w}:${h}`;
      args.push('-map', '0:v:0', '-vf', `${fit},setsar=1`, '-pix_fmt', 'yuv420p');
      // Without flush_packets a frame waits in ffmpeg's 32 KB output buffer for the next one.
      args.push('-flush_packets', '1', '-f', 'rawvideo', 'pipe:1');
    }
    if (input.audio)
      args.push(
        ...['-map', '0:a:0?', '-ac', '1', '-ar', String(SAMPLE_RATE), '-flush_packets', '1'],
        '-f',
        's16le',
        'pipe:3',
      );
    const child = this.spawnChild(args, [
      'ignore',
      placement ? 'pipe' : 'ignore',
      'pipe',
      input.audio ? 'pipe' : 'ignore',
    ]);
    const decoder: Decoder = {
      key,
      uid: input.uid,
      url: input.url,
      child,
      width: placement?.width ?? 0,
      height: placement?.height ?? 0,
      frame: null,
      partial: null,
      filled: 0,
      audio: Buffer.alloc(0),
      primed: false,
      stderr: '',
      stopping: false,
    };
    this.decoders.add(decoder);
    const frameBytes = (decoder.width * decoder.height * 3) / 2;
    child.stdout?.on('data', (chunk: Buffer) => this.onVideo(decoder, chunk, frameBytes));
    (child.stdio[3] as Readable | null)?.on('data', (chunk: Buffer) => {
      decoder.audio = Buffer.concat([decoder.audio, chunk]);
      if (decoder.audio.length > AUDIO_MAX_BYTES)
        decoder.audio = decoder.audio.subarray(even(decoder.audio.length - AUDIO_PRIME_BYTES));
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on(
      'data',
      (text: string) => (decoder.stderr = (decoder.stderr + text).slice(-STDERR_KEEP)),
    );
    child.once('close', (code, signal) => this.onDecoderExit(decoder, code ?? signal));
    return decoder;
  }

  private onVideo(decoder: Decoder, chunk: Buffer, frameBytes: number): void {
    let offset = 0;
    while (offset < chunk.length) {
      decoder.partial ??= Buffer.alloc(frameBytes);
      const take = Math.min(frameBytes - decoder.filled, chunk.length - offset);
      chunk.copy(decoder.partial, decoder.filled, offset, offset + take);
      decoder.filled += take;
      offset += take;
      if (decoder.filled < frameBytes) break;
      // Only the newest frame matters: the tick samples it. Two buffers swap, so nothing is allocated per frame.
      const first = decoder.frame === null;
      [decoder.frame, decoder.partial] = [decoder.partial, decoder.frame];
      decoder.filled = 0;
      if (first) this.onFirstFrame(decoder);
    }
  }

  private onFirstFrame(decoder: Decoder): void {
    for (const slot of this.slots)
      if (slot.decoder === decoder && slot.previous) {
        const previous = slot.previous;
        slot.previous = null;
        if (!this.slots.some((other) => other.decoder === previous || other.previous === previous))
          this.stopDecoder(previous);
      }
    this.log.debug({ uid: decoder.uid }, 'live mix: picture in');
    this.emit('showing', { uid: decoder.uid });
  }

  private onDecoderExit(decoder: Decoder, how: number | string | null): void {
    this.decoders.delete(decoder);
    if (decoder.stopping || this.stopped) return;
    const slot = this.slots.find((s) => s.decoder === decoder);
    this.report(
      new Error(`live decoder for ${decoder.uid} exited (${how}): ${decoder.stderr.trim().slice(-300)}`),
    );
    if (!slot) return;
    // Its stream is gone for now (the member's network, a media restart): keep its last picture, try again.
    setTimeout(() => {
      if (this.stopped || slot.decoder !== decoder || !this.slots.includes(slot)) return;
      const next = this.startDecoder(slot.input, slot.placement, decoder.key, false);
      slot.previous = decoder.frame ? decoder : null;
      slot.decoder = next;
    }, 1000).unref();
  }

  private stopDecoder(decoder: Decoder): void {
    decoder.stopping = true;
    this.decoders.delete(decoder);
    // A decoder blocked on a network read ignores SIGTERM (backend.md §6.3).
    if (isRunning(decoder.child)) decoder.child.kill('SIGKILL');
  }

  private schedule(): void {
    const next = this.epoch + ((this.ticks + 1) * 1000) / this.fps;
    this.timer = setTimeout(() => this.tick(), Math.max(0, next - Date.now()));
  }

  private tick(): void {
    if (this.stopped) return;
    const due = Math.floor(((Date.now() - this.epoch) * this.fps) / 1000);
    // Far behind (a stalled event loop): drop the backlog instead of bursting it into the encoder.
    if (due - this.ticks > 3) {
      this.log.warn({ behind: due - this.ticks }, 'live mix fell behind; skipping ticks');
      this.samples += Math.round(((due - this.ticks - 1) * SAMPLE_RATE) / this.fps);
      this.ticks = due - 1;
    }
    while (this.ticks < due) this.writeTick();
    this.schedule();
  }

  private writeTick(): void {
    this.ticks++;
    const target = Math.round((this.ticks * SAMPLE_RATE) / this.fps);
    const count = target - this.samples;
    this.samples = target;
    const publisher = this.publisher;
    const video = publisher?.stdin;
    const audio = publisher?.stdio[3] as Writable | null | undefined;
    if (!publisher || !video || !audio || !isRunning(publisher)) return;
    if (video.writableLength > MAX_QUEUED_FRAMES * this.frameBytes) return; // the encoder is behind: skip both
    this.compose();
    video.write(Buffer.from(this.image));
    audio.write(this.mixAudio(count));
    if (!this.started) {
      this.started = true;
      this.emit('started');
    }
  }

  private compose(): void {
    const { width: W, height: H } = this.canvas;
    this.image.fill(BLACK_Y, 0, W * H);
    this.image.fill(BLACK_UV, W * H);
    const placed = this.slots
      .filter((slot) => slot.placement)
      .sort((a, b) => a.placement!.z - b.placement!.z);
    for (const slot of placed) {
      const source = slot.decoder?.frame ? slot.decoder : slot.previous?.frame ? slot.previous : null;
      if (source?.frame)
        blit(source.frame, source.width, source.height, this.image, this.canvas, slot.placement!);
    }
  }

  private mixAudio(count: number): Buffer {
    const out = Buffer.alloc(count * 2);
    const sums = new Int32Array(count);
    for (const slot of this.slots) {
      const decoder = slot.decoder;
      if (!decoder || !slot.input.audio) continue;
      if (!decoder.primed && decoder.audio.length < AUDIO_PRIME_BYTES) continue;
      const available = Math.min(count, decoder.audio.length >> 1);
      decoder.primed = available === count;
      for (let i = 0; i < available; i++) sums[i] += decoder.audio.readInt16LE(i * 2);
      decoder.audio = decoder.audio.subarray(available * 2);
    }
    for (let i = 0; i < count; i++) out.writeInt16LE(Math.max(-32768, Math.min(32767, sums[i])), i * 2);
    return out;
  }
}

/** Which decoder a member needs: its stream, its picture size and fit, whether its sound is mixed. */
function decoderKey(input: StageInput, placement: Placement | null): string | null {
  if (!placement && !input.audio) return null;
  const picture = placement ? `${placement.width}x${placement.height}:${placement.fit}` : 'none';
  return `${input.url}|${picture}|${input.audio}`;
}

/**
 * Copies an I420 frame (w×h) into an I420 canvas, centred in `rect` and cut to it: equal sizes are a plain copy,
 * a frame of another size (a member's old picture while its new one starts) is cropped or framed in black.
 */
function blit(frame: Buffer, w: number, h: number, image: Buffer, canvas: Canvas, rect: Placement): void {
  const cw = Math.min(w, rect.width);
  const ch = Math.min(h, rect.height);
  const dx = rect.x + even((rect.width - cw) / 2);
  const dy = rect.y + even((rect.height - ch) / 2);
  const sx = even((w - cw) / 2);
  const sy = even((h - ch) / 2);
  const W = canvas.width;
  const H = canvas.height;
  for (let row = 0; row < ch; row++) {
    const from = (sy + row) * w + sx;
    frame.copy(image, (dy + row) * W + dx, from, from + cw);
  }
  const planes: Array<[number, number]> = [
    [w * h, W * H],
    [w * h + (w * h) / 4, W * H + (W * H) / 4],
  ];
  for (const [src, dst] of planes)
    for (let row = 0; row < ch / 2; row++) {
      const from = src + (sy / 2 + row) * (w / 2) + sx / 2;
      frame.copy(image, dst + (dy / 2 + row) * (W / 2) + dx / 2, from, from + cw / 2);
    }
}

/** ffmpeg arguments written as one line; only for fixed words (URLs and paths never go through here). */
const words = (line: string): string[] => line.split(' ');

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (!isRunning(child)) return resolve();
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
}

// Times GPU work truthfully on any adapter: kernel time from timestamp queries where the adapter
// has them, submit-to-done wall time beside it, and several dispatches per submit when a kernel
// is so short that the fixed submit cost (~11 ms on the software adapter) would hide it, or so
// short against the timestamp clock's step (browsers quantize it) that rounding would dominate.
import { commonTickStep, MIN_SAMPLE_STEPS } from "../timer_resolution.ts";
import type { GpuContext } from "./device.ts";

/** One timed submit, per dispatch. */
export interface GpuSample {
  wallMs: number;
  kernelMs: number | null;
  reps: number;
  /** The raw timestamp delta of the whole submit, in the adapter's ticks (ns). */
  kernelTicks?: bigint;
  /** On the first sample only: wall time of the untimed cold submit that preceded it. */
  coldMs?: number;
}

/** Records work into a command encoder; called once per repetition. */
export type Encode = (encoder: GPUCommandEncoder) => void;

/** A submit carries at least this much work by default, so the fixed cost stays a small part. */
export const DEFAULT_SUBMIT_MS = 40;
const MAX_REPS = 64;
/** Repetitions may grow up to this many so a submit spans MIN_SAMPLE_STEPS timestamp steps. */
const MAX_REPS_FOR_CLOCK = 4096;

/** Times repeated submits of one piece of work, choosing the repetitions on the first sample. */
export class TimedSubmit {
  readonly #gpu: GpuContext;
  readonly #encode: Encode;
  readonly #querySet: GPUQuerySet | null;
  readonly #resolve: GPUBuffer | null;
  readonly #readback: GPUBuffer | null;
  #reps = 1;
  #calibrated = false;
  readonly #ticks: bigint[] = [];

  readonly #targetSubmitMs: number;

  /**
   * @param gpu the device
   * @param encode records one unit of work
   * @param options `targetSubmitMs`: work a submit carries at least (default 40 ms; the runner's
   *   `TaskContext.minSampleMs`)
   */
  constructor(gpu: GpuContext, encode: Encode, options: { targetSubmitMs?: number } = {}) {
    this.#gpu = gpu;
    this.#encode = encode;
    this.#targetSubmitMs = options.targetSubmitMs ?? DEFAULT_SUBMIT_MS;
    if (gpu.timestamps) {
      const { device } = gpu;
      this.#querySet = device.createQuerySet({ type: "timestamp", count: 2 });
      this.#resolve = device.createBuffer({
        size: 16,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      });
      this.#readback = device.createBuffer({
        size: 16,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
    } else {
      this.#querySet = this.#resolve = this.#readback = null;
    }
  }

  get reps(): number {
    return this.#reps;
  }

  /**
   * Submits the work `reps` times in one command buffer and waits for the queue to drain.
   * The first call runs once and sets the repetitions for the rest from its wall time.
   */
  async sample(): Promise<GpuSample> {
    const { device } = this.#gpu;
    // The first submit carries lazy shader compilation and first-touch costs: it runs untimed
    // (its time reported as `coldMs`), so repetitions are chosen from a warm submit. Chosen from
    // a cold one, a method that happens to go first would get fewer repetitions, a larger share
    // of fixed costs per dispatch, and a slower figure for the same work.
    let coldMs: number | undefined;
    if (!this.#calibrated) {
      const cold = device.createCommandEncoder();
      this.#encode(cold);
      const start = performance.now();
      device.queue.submit([cold.finish()]);
      await device.queue.onSubmittedWorkDone();
      coldMs = performance.now() - start;
    }
    const reps = this.#reps;
    const encoder = device.createCommandEncoder();
    // Empty passes that only write timestamps bracket the work, so methods may use any passes.
    if (this.#querySet) {
      encoder.beginComputePass({
        timestampWrites: { querySet: this.#querySet, beginningOfPassWriteIndex: 0 },
      }).end();
    }
    for (let r = 0; r < reps; r++) this.#encode(encoder);
    if (this.#querySet && this.#resolve && this.#readback) {
      encoder.beginComputePass({
        timestampWrites: { querySet: this.#querySet, endOfPassWriteIndex: 1 },
      }).end();
      encoder.resolveQuerySet(this.#querySet, 0, 2, this.#resolve, 0);
      encoder.copyBufferToBuffer(this.#resolve, 0, this.#readback, 0, 16);
    }
    const start = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    const wallMs = performance.now() - start;
    let kernelMs: number | null = null;
    let kernelTicks: bigint | undefined;
    if (this.#readback) {
      await this.#readback.mapAsync(GPUMapMode.READ);
      const [begin, end] = new BigUint64Array(this.#readback.getMappedRange().slice(0));
      this.#readback.unmap();
      kernelMs = end > begin ? Number(end - begin) / 1e6 : null;
      if (end > begin) {
        kernelTicks = end - begin;
        this.#ticks.push(kernelTicks);
      }
    }
    if (!this.#calibrated) {
      this.#calibrated = true;
      this.#reps = Math.max(
        1,
        Math.min(MAX_REPS, Math.ceil(this.#targetSubmitMs / Math.max(wallMs, 0.01))),
      );
    }
    this.#keepAboveClockStep(kernelMs, reps);
    return {
      wallMs: wallMs / reps,
      kernelMs: kernelMs === null ? null : kernelMs / reps,
      reps,
      ...(kernelTicks === undefined ? {} : { kernelTicks }),
      ...(coldMs === undefined ? {} : { coldMs }),
    };
  }

  /** Raises the repetitions when a submit spans fewer than MIN_SAMPLE_STEPS timestamp steps. */
  #keepAboveClockStep(kernelMs: number | null, reps: number): void {
    const step = commonTickStep(this.#ticks);
    if (kernelMs === null || step === null) return;
    const stepMs = Number(step) / 1e6;
    if (kernelMs >= MIN_SAMPLE_STEPS * stepMs) return;
    const perRep = Math.max(kernelMs / reps, 1e-6);
    this.#reps = Math.min(MAX_REPS_FOR_CLOCK, Math.ceil((MIN_SAMPLE_STEPS * stepMs) / perRep));
  }

  dispose(): void {
    this.#querySet?.destroy();
    this.#resolve?.destroy();
    this.#readback?.destroy();
  }
}

/**
 * Seeded random streams. Every random choice in bmae (weight init, masking noise, augmentation,
 * shuffling, drop path) draws from an `Rng`, never from Math.random or tfjs initialisers (whose
 * seeds are not reliable across backends), so the same seed gives the same run.
 *
 * Independent concerns use independent streams made with `fork(label)`: adding a draw to the
 * augmentation does not shift the masking noise. A stream's state is a short number array that a
 * checkpoint stores, so a resumed run continues the exact sequence.
 *
 * Generator: xoroshiro128+ from pure-rand (fast, 128-bit state, serialisable).
 */
import { xoroshiro128plus, type RandomGenerator } from 'pure-rand';

const TWO_POW_32 = 4294967296;
const TWO_POW_24 = 16777216;

/** FNV-1a over a string: derives a child seed from a parent seed and a label. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

export interface RngState {
  /** The seed this stream was made from (forks derive their seeds from it). */
  seed: number;
  /** The generator's internal state. */
  generator: number[];
}

export class Rng {
  private constructor(
    readonly seed: number,
    private readonly generator: RandomGenerator,
  ) {}

  static fromSeed(seed: number): Rng {
    if (!Number.isInteger(seed)) throw new Error(`Rng seed must be an integer, got ${seed}`);
    return new Rng(seed, xoroshiro128plus(seed | 0));
  }

  static fromState(state: RngState): Rng {
    return new Rng(state.seed, xoroshiro128plus.fromState(state.generator));
  }

  /** A snapshot of this stream, for checkpoints; `Rng.fromState` continues it exactly. */
  state(): RngState {
    const getState = this.generator.getState;
    if (!getState) throw new Error('pure-rand generator has no getState()');
    return { seed: this.seed, generator: [...getState.call(this.generator)] };
  }

  /** An independent stream named `label`, derived from this stream's seed (not its position). */
  fork(label: string): Rng {
    return Rng.fromSeed(hash32(`${this.seed}/${label}`));
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    return this.generator.unsafeNext() >>> 0;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform float in [low, high). */
  uniformIn(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal sample (Box-Muller; one uniform pair per sample keeps the stream simple). */
  normal(): number {
    const u1 = 1 - this.uniform(); // (0, 1]: log is finite
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Fills with uniforms in [low, high); 24-bit draws, so float32 rounding never reaches `high`. */
  fillUniform(out: Float32Array, low = 0, high = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * ((this.nextUint32() >>> 8) / TWO_POW_24);
    return out;
  }

  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Uint32Array {
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    return order;
  }
}

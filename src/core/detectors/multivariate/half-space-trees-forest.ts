import { Rng } from '../../stats/rng.js';

/**
 * The trees of the vector half-space-trees detector (Tan, Ting & Liu, 2011): complete binary
 * trees whose every internal node halves its box along a seeded random metric, over a work space
 * drawn around the training vectors, and the mass (count of build vectors) of every node. The
 * structure is a pure function of the seed and the work space, and the masses of the vectors
 * built from, so a snapshot stores neither.
 */
export class Forest {
  readonly internal: number;
  readonly nodes: number;
  /** Split metric per internal node, trees back to back. */
  private readonly dims: Uint16Array;
  /** Mass per node, trees back to back. */
  private readonly masses: Int32Array;
  /** Work space per metric: lower edge and width. */
  private readonly lo: Float64Array;
  private readonly width: Float64Array;
  /** The box of the node being descended (scratch). */
  private readonly boxLo: Float64Array;
  private readonly boxHi: Float64Array;

  constructor(
    readonly dimensions: number,
    readonly trees: number,
    readonly height: number,
    readonly sizeLimit: number,
    seed: number,
  ) {
    this.internal = 2 ** height - 1;
    this.nodes = 2 ** (height + 1) - 1;
    const rng = Rng.fromSeed(seed);
    this.dims = new Uint16Array(trees * this.internal);
    for (let i = 0; i < this.dims.length; i++) this.dims[i] = rng.int(dimensions);
    this.masses = new Int32Array(trees * this.nodes);
    this.lo = new Float64Array(dimensions);
    this.width = new Float64Array(dimensions);
    this.boxLo = new Float64Array(dimensions);
    this.boxHi = new Float64Array(dimensions);
  }

  /** The work space as [lower edges..., widths...] (for snapshots). */
  get workSpace(): number[] {
    return [...this.lo, ...this.width];
  }

  setWorkSpace(space: readonly number[]): void {
    const d = this.dimensions;
    for (let j = 0; j < d; j++) {
      this.lo[j] = space[j] as number;
      this.width[j] = space[d + j] as number;
    }
  }

  /**
   * The paper's work space: per metric a random centre within the rows' range and a half-width
   * of twice the farther edge, so a range of normal values never lies on a box edge.
   */
  drawWorkSpace(rows: readonly Float64Array[], seed: number): void {
    const rng = Rng.fromSeed(seed ^ 0x5bd1e995);
    for (let j = 0; j < this.dimensions; j++) {
      let min = Infinity;
      let max = -Infinity;
      for (const row of rows) {
        min = Math.min(min, row[j] as number);
        max = Math.max(max, row[j] as number);
      }
      const centre = rng.uniform(min, max);
      const spread = 2 * Math.max(centre - min, max - centre);
      const half = spread > 0 ? spread : Math.max(Math.abs(centre), 1);
      this.lo[j] = centre - half;
      this.width[j] = 2 * half;
    }
  }

  /** Masses of `rows` in every node, replacing the previous ones. */
  build(rows: readonly Float64Array[]): void {
    this.masses.fill(0);
    for (const row of rows) {
      for (let t = 0; t < this.trees; t++) {
        this.startBox();
        const base = t * this.nodes;
        let node = 0;
        for (let k = 0; ; k++) {
          this.masses[base + node] = (this.masses[base + node] as number) + 1;
          if (k === this.height) break;
          node = this.child(t, node, row);
        }
      }
    }
  }

  /**
   * Mean over the trees of m·2^k at the node where the descent of `x` ends (a leaf, or the first
   * node holding fewer than `sizeLimit` build vectors): a density estimate, small where rare.
   * With `blame`, adds to each metric the excess isolation of its splits on the path: log₂ of
   * the mass ratio parent/child beyond the factor 2 a uniform halving gives (`excess`), or the
   * whole log ratio (`raw`, the fallback when no split beat a halving).
   */
  density(x: Float64Array, blame?: Float64Array, raw?: Float64Array): number {
    let sum = 0;
    for (let t = 0; t < this.trees; t++) {
      this.startBox();
      const base = t * this.nodes;
      let node = 0;
      let mass = this.masses[base] as number;
      let k = 0;
      while (k < this.height && mass >= this.sizeLimit) {
        const dim = this.dims[t * this.internal + node] as number;
        node = this.child(t, node, x);
        const next = this.masses[base + node] as number;
        if (blame && raw) {
          const ratio = Math.log2((mass + 1) / (next + 1));
          raw[dim] = (raw[dim] as number) + Math.max(ratio, 0);
          blame[dim] = (blame[dim] as number) + Math.max(ratio - 1, 0);
        }
        mass = next;
        k++;
      }
      // Half a vector in an empty node: finite, and rarer the shallower the node.
      sum += Math.max(mass, 0.5) * 2 ** k;
    }
    return sum / this.trees;
  }

  private startBox(): void {
    for (let j = 0; j < this.dimensions; j++) {
      this.boxLo[j] = this.lo[j] as number;
      this.boxHi[j] = (this.lo[j] as number) + (this.width[j] as number);
    }
  }

  /** The child of internal `node` of tree `t` holding `x`; narrows the box. */
  private child(t: number, node: number, x: Float64Array): number {
    const dim = this.dims[t * this.internal + node] as number;
    const mid = 0.5 * ((this.boxLo[dim] as number) + (this.boxHi[dim] as number));
    if ((x[dim] as number) < mid) {
      this.boxHi[dim] = mid;
      return 2 * node + 1;
    }
    this.boxLo[dim] = mid;
    return 2 * node + 2;
  }
}

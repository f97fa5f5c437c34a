/**
 * Eigen-decomposition of a small real symmetric matrix by cyclic Jacobi rotations.
 * Hand-written instead of a linear-algebra dependency: the multivariate detectors need only
 * this, for d up to ~64, where Jacobi is simple, unconditionally stable and accurate to a few ulps
 * even for tiny eigenvalues (which is what the Q statistic and the inverse are sensitive to).
 *
 * Deterministic: the same input gives the same output bit for bit, eigenvalues sorted from
 * largest to smallest (ties keep their index order) and each eigenvector's sign fixed so that
 * its largest-magnitude component is positive.
 */
export interface SymmetricEigen {
  readonly dimensions: number;
  /** Eigenvalues, largest first. */
  readonly values: Float64Array;
  /** Row-major d×d; column i (entries i, d + i, 2d + i, …) is the unit eigenvector of values[i]. */
  readonly vectors: Float64Array;
}

const MAX_SWEEPS = 60;

/**
 * Decompose the symmetric d×d row-major `matrix` (only read; its upper triangle is trusted and
 * mirrored). Throws on non-finite entries.
 */
export function symmetricEigen(matrix: ArrayLike<number>, dimensions: number): SymmetricEigen {
  const d = dimensions;
  if (!(Number.isInteger(d) && d >= 1) || matrix.length !== d * d) {
    throw new RangeError(
      `symmetricEigen: expected a ${d}×${d} matrix, got ${matrix.length} entries`,
    );
  }
  const a = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const v = matrix[i * d + j] as number;
      if (!Number.isFinite(v)) throw new RangeError(`symmetricEigen: entry (${i}, ${j}) is ${v}`);
      a[i * d + j] = v;
      a[j * d + i] = v;
    }
  }
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;

  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < d; i++) {
      diag += (a[i * d + i] as number) ** 2;
      for (let j = i + 1; j < d; j++) off += (a[i * d + j] as number) ** 2;
    }
    // Converged when the off-diagonal mass is negligible next to the diagonal (or both are zero).
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) rotate(a, v, d, p, q);
    }
  }

  const order = Array.from({ length: d }, (_, i) => i).sort(
    (i, j) => (a[j * d + j] as number) - (a[i * d + i] as number) || i - j,
  );
  const values = new Float64Array(d);
  const vectors = new Float64Array(d * d);
  order.forEach((from, to) => {
    values[to] = a[from * d + from] as number;
    let big = 0;
    for (let r = 0; r < d; r++) {
      const x = v[r * d + from] as number;
      if (Math.abs(x) > Math.abs(big)) big = x;
    }
    const sign = big < 0 ? -1 : 1;
    for (let r = 0; r < d; r++) vectors[r * d + to] = sign * (v[r * d + from] as number);
  });
  return { dimensions: d, values, vectors };
}

/** One Jacobi rotation in the (p, q) plane that zeroes a[p][q]; accumulates it into v. */
function rotate(a: Float64Array, v: Float64Array, d: number, p: number, q: number): void {
  const apq = a[p * d + q] as number;
  if (apq === 0) return;
  const app = a[p * d + p] as number;
  const aqq = a[q * d + q] as number;
  // tan of the rotation angle: the smaller root of t² + 2θt - 1 = 0, θ = cot 2φ (stable form).
  const theta = (aqq - app) / (2 * apq);
  const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;
  a[p * d + p] = app - t * apq;
  a[q * d + q] = aqq + t * apq;
  a[p * d + q] = 0;
  a[q * d + p] = 0;
  for (let r = 0; r < d; r++) {
    if (r !== p && r !== q) {
      const arp = a[r * d + p] as number;
      const arq = a[r * d + q] as number;
      const np = c * arp - s * arq;
      const nq = s * arp + c * arq;
      a[r * d + p] = np;
      a[p * d + r] = np;
      a[r * d + q] = nq;
      a[q * d + r] = nq;
    }
    const vrp = v[r * d + p] as number;
    const vrq = v[r * d + q] as number;
    v[r * d + p] = c * vrp - s * vrq;
    v[r * d + q] = s * vrp + c * vrq;
  }
}

/** Fréchet distance between two sets of feature vectors (as FID does, in any feature space). */

/** eigenvalues of a symmetric matrix (cyclic Jacobi), a: row-major n×n (copied) */
export function symmetricEigenvalues(
  a: Float64Array,
  n: number,
  vectors = false,
): { values: Float64Array; vectors?: Float64Array } {
  const A = Float64Array.from(a);
  const V = vectors ? new Float64Array(n * n) : undefined;
  if (V) for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (Math.abs(apq) < 1e-30) continue;
        const theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p];
          const akq = A[k * n + q];
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k];
          const aqk = A[q * n + k];
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        if (V)
          for (let k = 0; k < n; k++) {
            const vkp = V[k * n + p];
            const vkq = V[k * n + q];
            V[k * n + p] = c * vkp - s * vkq;
            V[k * n + q] = s * vkp + c * vkq;
          }
      }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = A[i * n + i];
  return { values, vectors: V };
}

function meanCov(x: ArrayLike<number>[]): { mu: Float64Array; cov: Float64Array; d: number } {
  const d = x[0].length;
  const m = x.length;
  const mu = new Float64Array(d);
  for (const r of x) for (let i = 0; i < d; i++) mu[i] += r[i] / m;
  const cov = new Float64Array(d * d);
  for (const r of x)
    for (let i = 0; i < d; i++) {
      const di = r[i] - mu[i];
      for (let j = i; j < d; j++) cov[i * d + j] += (di * (r[j] - mu[j])) / Math.max(1, m - 1);
    }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) cov[i * d + j] = cov[j * d + i];
  return { mu, cov, d };
}

function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  return out;
}

/** ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁^½ Σ₂ Σ₁^½)^½) */
export function frechetDistance(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  if (a.length < 2 || b.length < 2) return NaN;
  const A = meanCov(a);
  const B = meanCov(b);
  const d = A.d;
  let dm = 0;
  for (let i = 0; i < d; i++) dm += (A.mu[i] - B.mu[i]) ** 2;
  const e = symmetricEigenvalues(A.cov, d, true);
  const V = e.vectors!;
  // Σ₁^½ = V diag(√λ) Vᵀ
  const half = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += V[i * d + k] * Math.sqrt(Math.max(e.values[k], 0)) * V[j * d + k];
      half[i * d + j] = s;
    }
  const M = matmul(matmul(half, B.cov, d), half, d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < i; j++) M[i * d + j] = M[j * d + i] = (M[i * d + j] + M[j * d + i]) / 2;
  const ev = symmetricEigenvalues(M, d).values;
  let trSqrt = 0;
  for (const v of ev) trSqrt += Math.sqrt(Math.max(v, 0));
  let tr = 0;
  for (let i = 0; i < d; i++) tr += A.cov[i * d + i] + B.cov[i * d + i];
  return dm + tr - 2 * trSqrt;
}

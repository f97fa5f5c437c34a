/** Bucket sizes for down-sampled queries: about one bucket per pixel, rounded up to a round size. */
const NICE_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000,
  300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000,
  86_400_000,
];

export function pickBucket(rangeMs: number, pixels: number): number {
  const wanted = rangeMs / Math.max(50, pixels);
  for (const ms of NICE_MS) if (ms >= wanted) return ms;
  return Math.ceil(wanted / 86_400_000) * 86_400_000;
}

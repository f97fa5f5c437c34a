/**
 * Which scorer owns which partition (docs/cluster.md, "Leases"): a pure function of the live
 * members, so every scorer computes the same answer from the same membership. Members are sorted
 * and partition p goes to member p mod n: balanced (counts differ by at most one) and
 * deterministic.
 */
export function assignPartitions(
  members: readonly string[],
  partitions: number,
): Map<string, number[]> {
  const sorted = [...new Set(members)].sort();
  const owned = new Map<string, number[]>(sorted.map((m) => [m, []]));
  if (sorted.length === 0) return owned;
  for (let p = 0; p < partitions; p++) {
    owned.get(sorted[p % sorted.length] as string)?.push(p);
  }
  return owned;
}

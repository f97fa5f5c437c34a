/**
 * The rows an alarm covers: an event opens at a flagged row and lasts while flags keep coming,
 * ending at the last flagged row before `quietRows` unflagged ones in a row. So a fault caught at
 * its onset and flagged on and off marks its whole span, not only the flagged rows.
 */
export function eventRows(flagged: ArrayLike<boolean>, quietRows: number): Uint8Array {
  const n = flagged.length;
  const inEvent = new Uint8Array(n);
  let last = -1;
  for (let i = 0; i < n; i++) {
    if (!flagged[i]) continue;
    const from = last >= 0 && i - last <= quietRows ? last + 1 : i;
    inEvent.fill(1, from, i + 1);
    last = i;
  }
  return inEvent;
}

/** Per-row counts of one run against its labelled fault span [start, end). */
export interface RowCounts {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  normalRows: number;
}

/** Count rows from `from` on: in-event rows inside the span are hits, outside false alarms. */
export function countRows(
  inEvent: Uint8Array,
  start: number,
  end: number,
  from: number,
): RowCounts {
  const counts = { truePositives: 0, falsePositives: 0, falseNegatives: 0, normalRows: 0 };
  for (let i = from; i < inEvent.length; i++) {
    const faulty = i >= start && i < end;
    if (faulty) {
      if (inEvent[i]) counts.truePositives++;
      else counts.falseNegatives++;
    } else {
      counts.normalRows++;
      if (inEvent[i]) counts.falsePositives++;
    }
  }
  return counts;
}

export function f1(c: RowCounts): number {
  const denominator = 2 * c.truePositives + c.falsePositives + c.falseNegatives;
  return denominator > 0 ? (2 * c.truePositives) / denominator : 1;
}

/** One schema change. Applied once, in version order, inside the migration transaction. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** The SQL to run; `timescale` tells whether the TimescaleDB extension is in use. */
  statements(context: { readonly timescale: boolean }): readonly string[];
}

/** The top-level `version:` of a strategy YAML text, read and replaced without a YAML parser. */
const VERSION_LINE = /^version:[ \t]*(\d+)[ \t]*(#.*)?$/m;

export function readVersion(yaml: string): number | undefined {
  const m = VERSION_LINE.exec(yaml);
  return m === null ? undefined : Number(m[1]);
}

export function withVersion(yaml: string, version: number): string {
  return VERSION_LINE.test(yaml)
    ? yaml.replace(
        VERSION_LINE,
        (_line, _old, comment?: string) => `version: ${version}${comment ? ` ${comment}` : ''}`,
      )
    : `version: ${version}\n${yaml}`;
}

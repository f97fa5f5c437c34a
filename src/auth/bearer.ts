/** The secret of an `Authorization` value `Bearer <token>` (scheme in any case, RFC 6750). */
export function bearerToken(value: string | undefined): string | undefined {
  const match = value === undefined ? null : /^bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
  return match?.[1];
}

/**
 * Every error Vigil reports to a user has a stable code, listed here and in docs/errors.md.
 * `exitCode` is what the CLI exits with; `httpStatus` what the API will answer.
 */
export const errorCodes = {
  VIGIL_ERR_USAGE: { exitCode: 2, httpStatus: 400, summary: 'bad command-line usage' },
  VIGIL_ERR_INPUT: { exitCode: 3, httpStatus: 400, summary: 'input data cannot be read as asked' },
  VIGIL_ERR_STRATEGY_INVALID: {
    exitCode: 4,
    httpStatus: 422,
    summary: 'strategy fails validation',
  },
  VIGIL_ERR_STRATEGY_NOT_FOUND: { exitCode: 4, httpStatus: 404, summary: 'no such strategy' },
  VIGIL_ERR_DATASET: {
    exitCode: 5,
    httpStatus: 500,
    summary: 'evaluation dataset is missing or malformed',
  },
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class VigilError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VigilError';
    this.code = code;
  }

  get exitCode(): number {
    return errorCodes[this.code].exitCode;
  }
}

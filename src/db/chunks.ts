/**
 * D1 binds at most 100 parameters a statement (Cloudflare D1 "Limits": maximum bound parameters
 * per query; the local D1 refuses the 101st with "too many SQL variables"). A statement over a
 * list of values (`in (…)`, a multi-row insert) is therefore cut into runs that each fit, and
 * every such loop asks here how long a run may be.
 */

export const D1_MAX_BOUND_PARAMETERS = 100;

/** What one statement binds: `perValue` parameters for each value or row, and `fixed` others. */
export interface StatementParameters {
  perValue: number;
  fixed?: number;
}

/** How many values fit in one statement that binds `parameters`. */
export function valuesPerStatement({ perValue, fixed = 0 }: StatementParameters): number {
  const fit = Math.floor((D1_MAX_BOUND_PARAMETERS - fixed) / perValue);
  if (!Number.isInteger(perValue) || perValue < 1 || !(fit >= 1))
    throw new RangeError(`no value fits a statement binding ${perValue} per value and ${fixed} more`);
  return fit;
}

/** `values` in order, cut into runs that each fit one statement binding `parameters`. */
export function chunksForStatement<T>(values: readonly T[], parameters: StatementParameters): T[][] {
  const size = valuesPerStatement(parameters);
  const chunks: T[][] = [];
  for (let i = 0; i < values.length; i += size) chunks.push(values.slice(i, i + size));
  return chunks;
}

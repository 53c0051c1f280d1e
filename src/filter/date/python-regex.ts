/**
 * The one place the date code reaches the Python-regex translator (src/filter/pyregex), for
 * user-given date patterns. Compile errors become a DateError naming the datepattern.
 */
import { DateError, MoatError, type ErrorLocation } from '../../errors.ts';
import { compilePythonRegex, type PyMatch, type PyRegex } from '../pyregex/index.ts';

/** The translator's own types: the date code uses them as they are. */
export type DatePyMatch = PyMatch;
export type DatePyRegex = PyRegex;

export function compileDatePythonRegex(source: string, where: ErrorLocation): DatePyRegex {
  try {
    // indices: group 1's span is needed for every date match
    return compilePythonRegex(source, { indices: true });
  } catch (err) {
    const reason = err instanceof MoatError || err instanceof Error ? err.message : String(err);
    throw new DateError(`Unable to compile date regex '${source}': ${reason}`, where);
  }
}

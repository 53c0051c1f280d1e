/**
 * The one place the date code reaches the Python-regex translator (src/filter/pyregex), for
 * user-given date patterns. Compile errors become a DateError naming the datepattern.
 */
import { DateError, type ErrorLocation } from '../../errors.ts';
import { compilePythonRegex, type PyRegex } from '../pyregex/index.ts';

export function compileDatePythonRegex(source: string, where: ErrorLocation): PyRegex {
  try {
    // indices: group 1's span is needed for every date match
    return compilePythonRegex(source, { indices: true });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new DateError(`Unable to compile date regex '${source}': ${reason}`, where);
  }
}

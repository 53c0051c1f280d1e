/**
 * The one place the date code reaches the Python-regex translator (src/filter/pyregex), for
 * user-given date patterns. Compile errors become a DateError naming the datepattern.
 */
import { DateError, MoatError, type ErrorLocation } from '../../errors.ts';
import { compilePythonRegex } from '../pyregex/index.ts';

export interface DatePyMatch {
  index: number;
  end: number;
  text: string;
  groups: Record<string, string | undefined>;
  group(n: number | string): string | undefined;
  span(n: number | string): [number, number] | undefined;
}

export interface DatePyRegex {
  exec(subject: string, from?: number): DatePyMatch | null;
}

export function compileDatePythonRegex(source: string, where: ErrorLocation): DatePyRegex {
  try {
    // indices: group 1's span is needed for every date match
    return compilePythonRegex(source, { indices: true });
  } catch (err) {
    const reason = err instanceof MoatError || err instanceof Error ? err.message : String(err);
    throw new DateError(`Unable to compile date regex '${source}': ${reason}`, where);
  }
}

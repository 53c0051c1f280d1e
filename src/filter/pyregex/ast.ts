/**
 * AST of a CPython `re` pattern (str pattern, Unicode semantics).
 *
 * Flags that change how a node matches are stamped on the node itself (bit set
 * below), so scoped flags `(?i:...)` need no scope tracking after parsing.
 */

export const FLAG_I = 1; // IGNORECASE
export const FLAG_M = 2; // MULTILINE
export const FLAG_S = 4; // DOTALL
export const FLAG_X = 8; // VERBOSE (parse time only)
export const FLAG_A = 16; // ASCII (\w \d \s \b are ASCII-only)

/** Character categories: `\d \D \w \W \s \S`. */
export type Category = 'd' | 'D' | 'w' | 'W' | 's' | 'S';

export type SetItem =
  | { kind: 'range'; lo: number; hi: number } // a single char is lo === hi
  | { kind: 'cat'; cat: Category };

export type AssertKind =
  | 'bol' // ^
  | 'eol' // $
  | 'start' // \A
  | 'end' // \Z
  | 'boundary' // \b
  | 'nonboundary'; // \B

export type Node =
  | { type: 'empty' }
  | { type: 'never' } // matches nothing; produced by conditional resolution
  | { type: 'char'; cp: number; flags: number }
  | { type: 'any'; flags: number }
  | { type: 'set'; negated: boolean; items: SetItem[]; flags: number }
  | { type: 'cat'; cat: Category; flags: number }
  | { type: 'assert'; kind: AssertKind; flags: number }
  | { type: 'seq'; items: Node[] }
  | { type: 'alt'; branches: Node[] }
  | { type: 'group'; index: number; name: string | null; body: Node }
  | { type: 'atomic'; body: Node }
  | { type: 'look'; behind: boolean; negate: boolean; body: Node }
  | { type: 'backref'; index: number; flags: number }
  /** `(?(g)yes|no)`; `fromBackref` marks backrefs rewritten as `(?(g)\g|(?!))`. */
  | { type: 'cond'; index: number; yes: Node; no: Node; fromBackref?: boolean; pos: number }
  | { type: 'repeat'; min: number; max: number; greedy: boolean; possessive: boolean; body: Node };

export interface ParsedPattern {
  source: string;
  ast: Node;
  /** Number of capturing groups (Python numbering, 1-based). */
  groupCount: number;
  /** Named groups, name → Python group index, in order of definition. */
  names: Map<string, number>;
  /** Flags in force at the start of the pattern (leading `(?imsx)` and compile options). */
  flags: number;
}

/**
 * Literal substrings every match must contain — a cheap `includes()` prefilter
 * before running a regex. Conservative: case-insensitive text, alternations,
 * lookarounds and conditionals contribute nothing.
 */
import { FLAG_I, type Node } from './ast.ts';

export function requiredLiterals(ast: Node): string[] {
  const out: string[] = [];
  collect(ast, out);
  return out.filter((s) => s.length > 0);
}

function collect(node: Node, out: string[]): void {
  switch (node.type) {
    case 'seq': {
      let run = '';
      for (const item of node.items) {
        if (item.type === 'char' && !(item.flags & FLAG_I)) {
          run += String.fromCodePoint(item.cp);
          continue;
        }
        if (isZeroWidth(item)) continue; // `a\bb` still contains "ab"
        out.push(run);
        run = '';
        collect(item, out);
      }
      out.push(run);
      return;
    }
    case 'char':
      if (!(node.flags & FLAG_I)) out.push(String.fromCodePoint(node.cp));
      return;
    case 'group':
    case 'atomic':
      collect(node.body, out);
      return;
    case 'repeat':
      if (node.min >= 1) collect(node.body, out);
      return;
    default:
      return;
  }
}

function isZeroWidth(node: Node): boolean {
  return node.type === 'assert' || node.type === 'look' || node.type === 'empty';
}
